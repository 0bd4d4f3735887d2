import { describe, expect, it } from "vitest";
import type { LedgerRecord, NewRecord } from "../types.ts";
import {
  DAY,
  T0,
  at,
  expectLedgerError,
  fresh,
  newRecord,
  type LedgerSuiteContext,
} from "./context.ts";

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function commit(ctx: LedgerSuiteContext, r: NewRecord): Promise<LedgerRecord> {
  const result = await ctx.shared.record(r, { uploadStartedAt: r.createdAt });
  if (result.status !== "recorded") throw new Error(`not recorded: ${JSON.stringify(result)}`);
  return result.record;
}

export function recordTests(ctx: LedgerSuiteContext): void {
  describe("records", () => {
    it("records an upload and returns every field as stored", async () => {
      const input = newRecord({
        uid: fresh("u"),
        mid: fresh("m"),
        source: 3,
        name: "IMG_0001 (1).HEIC",
        size: 123_456_789_012,
        contentType: "image/heic",
        expiresAt: at(30 * DAY),
        attributes: { stripped: "gps,serial", "enc.alg": "AES-GCM-HKDF" },
      });
      const result = await ctx.shared.record(input, { uploadStartedAt: at(-1000) });
      const expected = { ...input, state: "stored" };
      expect(result).toEqual({ status: "recorded", record: expected });
      expect(await ctx.shared.get(input.key)).toEqual(expected);
      expect(await ctx.shared.get(`${input.key}-missing`)).toBeUndefined();
    });

    it("keeps uploads without uid or mid, and counts them against no uid", async () => {
      const input = newRecord({ uid: null, mid: null, source: 99, name: "" });
      await commit(ctx, input);
      expect(await ctx.shared.get(input.key)).toMatchObject({ uid: null, mid: null, name: "" });
    });

    it("refuses a key recorded twice with Conflict and leaves the first record and usage alone", async () => {
      const uid = fresh("u");
      const first = newRecord({ uid, size: 10 });
      await commit(ctx, first);
      await expectLedgerError(
        ctx.shared.record({ ...first, size: 99, sha256: "0".repeat(64) }, { uploadStartedAt: T0 }),
        "Conflict",
      );
      expect(await ctx.shared.get(first.key)).toMatchObject({ size: 10, sha256: first.sha256 });
      expect(await ctx.shared.usage(uid, T0)).toMatchObject({ files: 1, bytes: 10 });
    });

    it("removes a record once, giving its bytes back to the uid", async () => {
      const uid = fresh("u");
      const a = newRecord({ uid, size: 100 });
      const b = newRecord({ uid, size: 50 });
      await commit(ctx, a);
      await commit(ctx, b);
      expect(await ctx.shared.remove(a.key)).toBe(true);
      expect(await ctx.shared.remove(a.key)).toBe(false);
      expect(await ctx.shared.get(a.key)).toBeUndefined();
      const usage = await ctx.shared.usage(uid, T0);
      expect(usage).toMatchObject({ files: 1, bytes: 50 });
      // Daily quotas count uploads: a removal does not hand the day's budget back.
      expect(usage.today).toEqual({ files: 2, bytes: 150 });
    });

    it("lists a uid's records oldest first across pages, stable under inserts and removals", async () => {
      const uid = fresh("u");
      const made: NewRecord[] = [];
      for (let i = 0; i < 23; i++) {
        // Pairs share a creation time, so the key breaks ties.
        made.push(newRecord({ uid, createdAt: at(Math.floor(i / 2) * 1000) }));
      }
      await Promise.all(made.map((r) => commit(ctx, r)));
      const order = [...made].sort(
        (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || byteOrder(a.key, b.key),
      );

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await ctx.shared.listByUid(uid, { cursor, limit: 5 });
        expect(page.items.length).toBeLessThanOrEqual(5);
        seen.push(...page.items.map((r) => r.key));
        cursor = page.cursor;
        if (++pages === 2) {
          // Between pages: one already listed goes, one newer arrives.
          await ctx.shared.remove(seen[0] as string);
          const late = newRecord({ uid, createdAt: at(60_000) });
          order.push(late);
          await commit(ctx, late);
        }
      } while (cursor !== null);
      expect(seen).toEqual(order.map((r) => r.key));
      expect(pages).toBe(5);
    });

    it("lists nothing for an unknown uid, and rejects a cursor it did not hand out", async () => {
      expect(await ctx.shared.listByUid(fresh("nobody"))).toEqual({ items: [], cursor: null });
      await expectLedgerError(
        ctx.shared.listByUid("u", { cursor: "not-a-cursor" }),
        "InvalidArgument",
      );
      const other = (await ctx.shared.listKeys({ limit: 1 })).cursor ?? "WyJ4Il0";
      await expectLedgerError(ctx.shared.listByUid("u", { cursor: other }), "InvalidArgument");
    });

    it("lists one message's records, optionally for one uid", async () => {
      const mid = fresh("m");
      const [alice, bob] = [fresh("alice"), fresh("bob")];
      const records = [
        newRecord({ uid: alice, mid }),
        newRecord({ uid: alice, mid, source: 3 }),
        newRecord({ uid: bob, mid }),
        newRecord({ uid: alice, mid: fresh("m") }),
      ];
      for (const r of records) await commit(ctx, r);
      const keys = (list: LedgerRecord[]) => list.map((r) => r.key);
      expect(keys(await ctx.shared.listByMid(mid))).toEqual(
        records
          .slice(0, 3)
          .map((r) => r.key)
          .sort(byteOrder),
      );
      expect(keys(await ctx.shared.listByMid(mid, { uid: alice }))).toEqual(
        records
          .slice(0, 2)
          .map((r) => r.key)
          .sort(byteOrder),
      );
      expect(await ctx.shared.listByMid(fresh("m"))).toEqual([]);
    });

    it("keeps usage counters per uid and per UTC day", async () => {
      const uid = fresh("u");
      const yesterday = at(-DAY);
      await commit(ctx, newRecord({ uid, size: 7, createdAt: yesterday }));
      await commit(ctx, newRecord({ uid, size: 5, createdAt: T0 }));
      await commit(ctx, newRecord({ uid, size: 3, createdAt: at(1000) }));
      expect(await ctx.shared.usage(uid, T0)).toEqual({
        files: 3,
        bytes: 15,
        today: { files: 2, bytes: 8 },
        reserved: { files: 0, bytes: 0 },
      });
      // The next day starts from zero; the totals stay.
      expect(await ctx.shared.usage(uid, at(DAY))).toMatchObject({
        files: 3,
        bytes: 15,
        today: { files: 0, bytes: 0 },
      });
      expect(await ctx.shared.usage(fresh("nobody"), T0)).toEqual({
        files: 0,
        bytes: 0,
        today: { files: 0, bytes: 0 },
        reserved: { files: 0, bytes: 0 },
      });
    });

    it("lists every record in UTF-8 byte order across pages, moves backends, counts them", async () => {
      const { ledger } = await ctx.isolated();
      const names = [
        "a/z",
        "a/é",
        "a/~",
        "a/\u{1F600}",
        "a/\uFFFD",
        "b",
        "a/Z",
        "a/0",
        "a-b",
        "a.b",
      ];
      for (const key of names) {
        await ledger.record(newRecord({ key, size: 2 }), { uploadStartedAt: T0 });
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await ledger.listAll({ cursor, limit: 3 });
        seen.push(...page.items.map((r) => r.key));
        cursor = page.cursor;
      } while (cursor !== null);
      expect(seen).toEqual([...names].sort(byteOrder));
      expect(await ledger.setBackend("a/é", "s3")).toBe(true);
      expect(await ledger.setBackend("nope", "s3")).toBe(false);
      expect((await ledger.get("a/é"))?.backend).toBe("s3");
      expect(await ledger.stats()).toEqual({ records: names.length, bytes: 2 * names.length });
    });

    it("rejects unusable arguments with InvalidArgument before any I/O", async () => {
      const l = ctx.shared;
      const ok = newRecord();
      const started = { uploadStartedAt: T0 };
      const bad: Partial<NewRecord>[] = [
        { key: "" },
        { size: -1 },
        { size: 1.5 },
        { sha256: "ABC" },
        { source: -1 },
        { uid: "" },
        { createdAt: new Date(Number.NaN) },
        { contentType: "" },
        { attributes: { x: 1 as unknown as string } },
      ];
      for (const change of bad) {
        await expectLedgerError(l.record({ ...ok, ...change }, started), "InvalidArgument");
      }
      await expectLedgerError(l.record(ok, { uploadStartedAt: new Date("x") }), "InvalidArgument");
      await expectLedgerError(l.get(""), "InvalidArgument");
      await expectLedgerError(l.listByUid("u", { limit: 0 }), "InvalidArgument");
      await expectLedgerError(l.listAll({ limit: 1001 }), "InvalidArgument");
      expect(await l.get(ok.key)).toBeUndefined();
    });
  });
}
