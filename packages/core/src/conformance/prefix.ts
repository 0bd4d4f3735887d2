import { describe, expect, it } from "vitest";
import { MAX_KEY_BYTES, isValidKey } from "../keys.ts";
import { readAll, streamOf, untouchableBody } from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError, firstListStep } from "./errors.ts";
import { everyKeyedCall } from "./validation.ts";

/**
 * A valid key of exactly `bytes` bytes, in segments of 200 bytes at most: short enough for
 * every backend's segment limits, few enough for Azure's limit on path segments.
 */
export function keyOfBytes(bytes: number): string {
  const segments: string[] = [];
  let left = bytes;
  while (left > 200) {
    segments.push("k".repeat(199));
    left -= 200; // 199 bytes and the "/" after them
  }
  segments.push("k".repeat(left));
  return segments.join("/");
}

export function prefixTests(ctx: SuiteContext): void {
  const { prefixed } = ctx.options;
  if (!prefixed) return;

  describe("key prefix", () => {
    /** A prefixed adapter, and how many key bytes its prefix leaves. */
    const setUp = async () => {
      const prefix = ctx.freshPrefix();
      const adapter = await prefixed(prefix);
      return { prefix, adapter, room: MAX_KEY_BYTES - Buffer.byteLength(`${prefix}/`) };
    };

    it("rejects with InvalidKey, before any I/O, a key that fits alone but not once prefixed", async () => {
      const { prefix, adapter, room } = await setUp();
      const tooLong = keyOfBytes(room + 1);
      expect(isValidKey(tooLong), "the key alone is valid").toBe(true);
      for (const [name, call] of everyKeyedCall(adapter, tooLong)) {
        const error = await expectStorageError(call, "InvalidKey");
        expect(error.operation, name).toBe(name);
      }
      const body = untouchableBody();
      await expectStorageError(() => adapter.write(tooLong, body.stream), "InvalidKey");
      expect(body.touched).toBe(false);
      // A list prefix that long could never match a stored name.
      await expectStorageError(() => firstListStep(() => adapter.list(tooLong)), "InvalidKey");
      expect(await ctx.keysUnder(`${prefix}/`)).toEqual([]);
    });

    it("stores a key that fills the limit exactly once prefixed, under the prefix", async () => {
      const { prefix, adapter, room } = await setUp();
      const key = keyOfBytes(room);
      const name = `${prefix}/${key}`;
      expect(Buffer.byteLength(name)).toBe(MAX_KEY_BYTES);

      expect((await adapter.write(key, streamOf("fits"))).key).toBe(key);
      expect((await adapter.stat(key)).size).toBe(4);
      expect((await readAll((await adapter.read(key)).body)).toString()).toBe("fits");
      const listed: string[] = [];
      for await (const entry of adapter.list()) listed.push(entry.key);
      expect(listed).toEqual([key]);
      // The backend holds it under prefix + key, as an unprefixed adapter sees it.
      expect((await ctx.adapter.stat(name)).key).toBe(name);

      await adapter.delete(key);
      await expectStorageError(ctx.adapter.stat(name), "NotFound");
    });
  });
}
