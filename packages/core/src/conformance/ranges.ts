import { describe, expect, it } from "vitest";
import type { ByteRange } from "../range.ts";
import { patternSlice, readAll } from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError } from "./errors.ts";

const SIZE = 1000;

export function rangeTests(ctx: SuiteContext): void {
  describe("ranges", () => {
    let key = "";
    let emptyKey = "";
    const ensureObjects = async () => {
      if (key) return;
      const prefix = ctx.freshPrefix();
      await ctx.put(`${prefix}/bytes`, patternSlice(0, SIZE - 1));
      await ctx.put(`${prefix}/empty`, Buffer.alloc(0));
      key = `${prefix}/bytes`;
      emptyKey = `${prefix}/empty`;
    };

    const satisfiable: [string, ByteRange, number, number][] = [
      ["the first byte", { start: 0, end: 0 }, 0, 0],
      ["the last byte", { start: SIZE - 1, end: SIZE - 1 }, SIZE - 1, SIZE - 1],
      ["a middle slice", { start: 100, end: 199 }, 100, 199],
      ["an open-ended range", { start: 990 }, 990, SIZE - 1],
      ["an end past the size, clamped", { start: 995, end: SIZE + 5000 }, 995, SIZE - 1],
      ["a suffix", { suffix: 10 }, SIZE - 10, SIZE - 1],
      ["a suffix longer than the object", { suffix: SIZE * 3 }, 0, SIZE - 1],
      ["the whole object as a range", { start: 0, end: SIZE - 1 }, 0, SIZE - 1],
    ];

    it.each(satisfiable)("reads %s", async (_label, range, start, end) => {
      await ensureObjects();
      const result = await ctx.adapter.read(key, { range });
      expect(result.range).toEqual({ start, end });
      expect(result.info.size, "info.size is the whole object's size").toBe(SIZE);
      const bytes = await readAll(result.body);
      expect(bytes.length).toBe(end - start + 1);
      expect(bytes.equals(patternSlice(start, end))).toBe(true);
    });

    it.each([
      ["a start at the size", { start: SIZE }],
      ["a start past the size", { start: SIZE + 10, end: SIZE + 20 }],
      ["an empty suffix", { suffix: 0 }],
    ] as [string, ByteRange][])("rejects %s with InvalidRange", async (_label, range) => {
      await ensureObjects();
      await expectStorageError(ctx.adapter.read(key, { range }), "InvalidRange");
    });

    it.each([
      ["{ start: 0 }", { start: 0 }],
      ["{ start: 0, end: 0 }", { start: 0, end: 0 }],
      ["{ suffix: 1 }", { suffix: 1 }],
    ] as [string, ByteRange][])(
      "rejects %s on an empty object with InvalidRange",
      async (_label, range) => {
        await ensureObjects();
        await expectStorageError(ctx.adapter.read(emptyKey, { range }), "InvalidRange");
      },
    );

    it("rejects malformed ranges with InvalidRange", async () => {
      await ensureObjects();
      for (const range of [{ start: 5, end: 2 }, { start: -1 }, { suffix: -3 }, { start: 0.5 }]) {
        await expectStorageError(ctx.adapter.read(key, { range }), "InvalidRange");
      }
    });
  });
}
