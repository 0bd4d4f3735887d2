import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { StoredKey } from "../types.ts";
import { T0, at, expectLedgerError, fresh, type LedgerSuiteContext } from "./context.ts";

const bytes = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString("hex") : undefined);
const wrapped = () => new Uint8Array(randomBytes(60));

export function keyTests(ctx: LedgerSuiteContext): void {
  describe("encryption keys", () => {
    it("stores a uid's wrapped key once and returns the stored one to later puts", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      expect(await l.getKey(uid)).toBeUndefined();
      const first = { wrapped: wrapped(), masterKeyId: "master-2030", createdAt: T0 };
      const stored = await l.putKeyIfAbsent(uid, first);
      expect(stored).toEqual({ uid, ...first });
      expect(stored.wrapped).toBeInstanceOf(Uint8Array);
      const second = await l.putKeyIfAbsent(uid, {
        wrapped: wrapped(),
        masterKeyId: "other",
        createdAt: at(1),
      });
      expect(second).toEqual(stored);
      expect(await l.getKey(uid)).toEqual(stored);
    });

    it("keeps the shared key apart from every uid's", async () => {
      const { ledger } = await ctx.isolated();
      const shared = await ledger.putKeyIfAbsent(null, {
        wrapped: wrapped(),
        masterKeyId: "m",
        createdAt: T0,
      });
      expect(shared.uid).toBeNull();
      // A uid that looks like the shared key's storage name is still a uid.
      const star = await ledger.putKeyIfAbsent("*", {
        wrapped: wrapped(),
        masterKeyId: "m",
        createdAt: T0,
      });
      expect(star.uid).toBe("*");
      expect(bytes((await ledger.getKey(null))?.wrapped)).toBe(bytes(shared.wrapped));
      expect(bytes((await ledger.getKey("*"))?.wrapped)).toBe(bytes(star.wrapped));
      await expectLedgerError(ledger.deleteKey(null as unknown as string), "InvalidArgument");
    });

    it("gives every racer the same key, across instances", async () => {
      const a = ctx.shared;
      const b = await ctx.anotherShared();
      const uid = fresh("u");
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).putKeyIfAbsent(uid, {
            wrapped: wrapped(),
            masterKeyId: `m${i}`,
            createdAt: T0,
          }),
        ),
      );
      const winner = await a.getKey(uid);
      expect(winner).toBeDefined();
      for (const r of results) {
        expect(bytes(r.wrapped)).toBe(bytes(winner?.wrapped));
        expect(r.masterKeyId).toBe(winner?.masterKeyId);
      }
    });

    it("re-wraps only while the expected master key still wraps it, and never revives a deleted key", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      await l.putKeyIfAbsent(uid, { wrapped: wrapped(), masterKeyId: "old", createdAt: T0 });
      const next = { wrapped: wrapped(), masterKeyId: "new" };
      expect(await l.rewrapKey(uid, "old", next)).toBe(true);
      expect(await l.rewrapKey(uid, "old", { wrapped: wrapped(), masterKeyId: "newer" })).toBe(
        false,
      );
      const now = await l.getKey(uid);
      expect(now).toMatchObject({ uid, masterKeyId: "new", createdAt: T0 });
      expect(bytes(now?.wrapped)).toBe(bytes(next.wrapped));

      expect(await l.deleteKey(uid)).toBe(true);
      expect(await l.deleteKey(uid)).toBe(false);
      expect(await l.getKey(uid)).toBeUndefined();
      expect(await l.rewrapKey(uid, "new", { wrapped: wrapped(), masterKeyId: "newest" })).toBe(
        false,
      );
      expect(await l.getKey(uid)).toBeUndefined();
      // The shared key re-wraps the same way.
      const shared = fresh("m");
      await l.putKeyIfAbsent(null, { wrapped: wrapped(), masterKeyId: shared, createdAt: T0 });
      const current = (await l.getKey(null)) as StoredKey;
      expect(
        await l.rewrapKey(null, current.masterKeyId, {
          wrapped: wrapped(),
          masterKeyId: fresh("m"),
        }),
      ).toBe(true);
    });

    it("lists every key in pages, the shared key first", async () => {
      const { ledger } = await ctx.isolated();
      const uids = Array.from({ length: 11 }, (_, i) => `user-${String(i).padStart(2, "0")}`);
      for (const uid of uids) {
        await ledger.putKeyIfAbsent(uid, { wrapped: wrapped(), masterKeyId: "m", createdAt: T0 });
      }
      await ledger.putKeyIfAbsent(null, { wrapped: wrapped(), masterKeyId: "m", createdAt: T0 });
      const seen: (string | null)[] = [];
      let cursor: string | null = null;
      do {
        const page = await ledger.listKeys({ cursor, limit: 5 });
        seen.push(...page.items.map((k) => k.uid));
        cursor = page.cursor;
      } while (cursor !== null);
      expect(seen).toEqual([null, ...uids]);
    });

    it("rejects unusable keys with InvalidArgument", async () => {
      const l = ctx.shared;
      await expectLedgerError(
        l.putKeyIfAbsent("u", { wrapped: new Uint8Array(0), masterKeyId: "m", createdAt: T0 }),
        "InvalidArgument",
      );
      await expectLedgerError(
        l.putKeyIfAbsent("u", { wrapped: wrapped(), masterKeyId: "", createdAt: T0 }),
        "InvalidArgument",
      );
      await expectLedgerError(
        l.rewrapKey("u", "m", { wrapped: "x" as unknown as Uint8Array, masterKeyId: "n" }),
        "InvalidArgument",
      );
    });
  });
}
