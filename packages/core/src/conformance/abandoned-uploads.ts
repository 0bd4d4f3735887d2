import { describe, expect, it } from "vitest";
import {
  supportsAbandonedUploadRemoval,
  type AbandonedUploadsCapable,
  type StorageAdapter,
} from "../adapter.ts";
import { readAll } from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError } from "./errors.ts";

const HOUR_MS = 60 * 60 * 1000;

function remover(adapter: StorageAdapter): StorageAdapter & AbandonedUploadsCapable {
  if (!supportsAbandonedUploadRemoval(adapter)) {
    throw new Error(`${adapter.name} offers no removeAbandonedUploads`);
  }
  return adapter;
}

/**
 * `removeAbandonedUploads`, for adapters that offer it: the suite leaves uploads behind the
 * way a killed process does (through the options' `abandonedUploads.abandon`), and checks that only
 * those older than the bound and inside the adapter's namespace are removed, and that
 * stored objects are never touched. Uploads are "now"-old here, so the bound is 0 (remove)
 * or an hour (keep); adapters test finer ages against their own servers.
 */
export function abandonedUploadTests(ctx: SuiteContext): void {
  const claimed = ctx.options.abandonedUploads !== undefined;
  describe("abandoned uploads", () => {
    it(`${claimed ? "offers" : "does not offer"} removeAbandonedUploads, as configured`, () => {
      expect(supportsAbandonedUploadRemoval(ctx.adapter)).toBe(claimed);
    });
    if (!claimed) return;
    const abandon = (key: string) => {
      const hooks = ctx.options.abandonedUploads;
      if (!hooks) throw new Error("no abandonedUploads hooks");
      return hooks.abandon(key);
    };
    const mentions = (leftovers: string[], name: string) =>
      leftovers.filter((line) => line.includes(name));

    it("keeps an upload younger than the bound and removes it once older", async () => {
      const adapter = remover(ctx.adapter);
      const key = `${ctx.freshPrefix()}/abandoned-${Date.now()}.bin`;
      await abandon(key);
      expect(mentions(await ctx.leftovers(), key), "the hook left an upload").toHaveLength(1);

      expect(await adapter.removeAbandonedUploads({ olderThanMs: HOUR_MS })).toEqual({
        removed: 0,
      });
      expect(mentions(await ctx.leftovers(), key)).toHaveLength(1);

      expect(await adapter.removeAbandonedUploads({ olderThanMs: 0 })).toEqual({ removed: 1 });
      expect(await ctx.leftovers()).toEqual([]);
      await expectStorageError(adapter.stat(key), "NotFound");
    });

    it("never touches stored objects", async () => {
      const adapter = remover(ctx.adapter);
      const key = `${ctx.freshPrefix()}/kept.txt`;
      await ctx.put(key, "still here");
      expect(await adapter.removeAbandonedUploads({ olderThanMs: 0 })).toEqual({ removed: 0 });
      const { body } = await adapter.read(key);
      expect((await readAll(body)).toString()).toBe("still here");
    });

    it("refuses a bound that is not a whole, non-negative number of milliseconds", async () => {
      const adapter = remover(ctx.adapter);
      for (const olderThanMs of [-1, 1.5, Number.NaN, Infinity, "1000", undefined]) {
        await expectStorageError(
          adapter.removeAbandonedUploads({ olderThanMs } as unknown as { olderThanMs: number }),
          "InvalidArgument",
        );
      }
    });

    const { prefixed } = ctx.options;
    if (prefixed) {
      it("removes only uploads inside the adapter's prefix", async () => {
        const base = ctx.freshPrefix();
        const scoped = remover(await prefixed(`${base}/scope`));
        const inside = `${base}/scope/inside.bin`;
        const outside = `${base}/outside.bin`;
        await abandon(inside);
        await abandon(outside);
        expect(await scoped.removeAbandonedUploads({ olderThanMs: 0 })).toEqual({ removed: 1 });
        const left = await ctx.leftovers();
        expect(mentions(left, inside)).toEqual([]);
        expect(mentions(left, outside)).toHaveLength(1);
        expect(await remover(ctx.adapter).removeAbandonedUploads({ olderThanMs: 0 })).toEqual({
          removed: 1,
        });
        expect(await ctx.leftovers()).toEqual([]);
      });
    }
  });
}
