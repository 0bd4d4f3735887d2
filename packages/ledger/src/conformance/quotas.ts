import { describe, expect, it } from "vitest";
import type { Ledger } from "../ledger.ts";
import type { Admission, QuotaLimits } from "../types.ts";
import {
  DAY,
  MIB,
  T0,
  at,
  expectLedgerError,
  fresh,
  newRecord,
  type LedgerSuiteContext,
} from "./context.ts";

const admitted = (a: Admission) => a.status === "admitted";

export function quotaTests(ctx: LedgerSuiteContext): void {
  describe("quotas", () => {
    it("admits within every limit and names the one an upload would cross", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      await l.record(newRecord({ uid, size: 600 }), { uploadStartedAt: T0 });
      const limits: QuotaLimits = { filesPerDay: 3, bytesPerDay: 1000, bytesTotal: 1500 };
      const reserve = (bytes: number, l2 = limits) =>
        l.reserve({ uid, key: fresh("k"), bytes, limits: l2, now: T0 });

      expect(await reserve(300)).toEqual({ status: "admitted", leaseUntil: at(15 * 60_000) });
      expect(await reserve(101)).toEqual({
        status: "exceeded",
        limit: "bytesPerDay",
        max: 1000,
        used: 900,
        requested: 101,
      });
      expect(await reserve(100)).toMatchObject({ status: "admitted" });
      expect(await reserve(0)).toEqual({
        status: "exceeded",
        limit: "filesPerDay",
        max: 3,
        used: 3,
        requested: 1,
      });
      expect(await reserve(600, { bytesTotal: 1500 })).toEqual({
        status: "exceeded",
        limit: "bytesTotal",
        max: 1500,
        used: 1000,
        requested: 600,
      });
      expect(await reserve(10 * MIB, {})).toMatchObject({ status: "admitted" });
      expect(await l.usage(uid, T0)).toMatchObject({
        reserved: { files: 3, bytes: 400 + 10 * MIB },
      });
    });

    it("turns a reservation into usage on commit, and frees it on release", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      const limits = { bytesTotal: 100 };
      const upload = newRecord({ uid, size: 60 });
      expect(await l.reserve({ uid, key: upload.key, bytes: 60, limits, now: T0 })).toMatchObject({
        status: "admitted",
      });
      const dropped = fresh("k");
      await l.reserve({ uid, key: dropped, bytes: 40, limits, now: T0 });
      expect((await l.reserve({ uid, key: fresh("k"), bytes: 1, limits, now: T0 })).status).toBe(
        "exceeded",
      );
      await l.record(upload, { uploadStartedAt: T0 });
      expect(await l.usage(uid, T0)).toMatchObject({
        files: 1,
        bytes: 60,
        reserved: { files: 1, bytes: 40 },
      });
      expect(await l.release(dropped)).toBe(true);
      expect(await l.release(dropped)).toBe(false);
      expect((await l.reservationsOf(uid)).map((r) => r.key)).toEqual([]);
      const again = fresh("k");
      expect(await l.reserve({ uid, key: again, bytes: 40, limits, now: T0 })).toMatchObject({
        status: "admitted",
      });
      // One reservation per key.
      await expectLedgerError(
        l.reserve({ uid, key: again, bytes: 0, limits: {}, now: T0 }),
        "Conflict",
      );
    });

    it("never lets concurrent reservations of one uid pass a limit, across instances", async () => {
      const instances = [ctx.shared, await ctx.anotherShared(), await ctx.anotherShared()];
      // Races are probabilistic: LEDGER_STRESS=1 runs many more rounds than CI does.
      const rounds = process.env.LEDGER_STRESS ? 30 : 1;
      for (let round = 0; round < rounds; round++) {
        const uid = fresh("u");
        const results = await Promise.all(
          Array.from({ length: 300 }, (_, i) =>
            (instances[i % 3] as Ledger).reserve({
              uid,
              key: fresh("k"),
              bytes: 1000,
              limits: { bytesTotal: 100_000 },
              now: T0,
            }),
          ),
        );
        expect(results.filter(admitted).length).toBe(100);
        expect((await ctx.shared.usage(uid, T0)).reserved).toEqual({ files: 100, bytes: 100_000 });

        const other = fresh("u");
        const files = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            (instances[i % 3] as Ledger).reserve({
              uid: other,
              key: fresh("k"),
              bytes: 1,
              limits: { filesPerDay: 20 },
              now: T0,
            }),
          ),
        );
        expect(files.filter(admitted).length).toBe(20);
      }
    });

    it("counts files of unknown size as they grow, and refuses the step that crosses", async () => {
      const a = ctx.shared;
      const b = await ctx.anotherShared();
      const uid = fresh("u");
      const limits = { bytesTotal: 8 * MIB };
      // Four uploads stream concurrently in 1 MiB steps until refused.
      const stream = async (ledger: typeof a) => {
        const key = fresh("k");
        expect((await ledger.reserve({ uid, key, bytes: 0, limits, now: T0 })).status).toBe(
          "admitted",
        );
        let bytes = 0;
        for (;;) {
          const step = await ledger.grow(key, bytes + MIB, { limits, now: at(1000) });
          if (step.status !== "admitted") {
            expect(step).toMatchObject({ status: "exceeded", limit: "bytesTotal", max: 8 * MIB });
            return bytes;
          }
          bytes += MIB;
        }
      };
      const grown = await Promise.all([stream(a), stream(b), stream(a), stream(b)]);
      expect(grown.reduce((s, n) => s + n, 0)).toBe(8 * MIB);
      expect((await a.usage(uid, at(1000))).reserved).toEqual({ files: 4, bytes: 8 * MIB });
      // A refused step leaves the reservation as it was; a smaller size is always admitted.
      const [first] = await a.reservationsOf(uid);
      expect(await a.grow(first?.key as string, 0, { limits, now: at(2000) })).toMatchObject({
        status: "admitted",
      });
      await expectLedgerError(a.grow(fresh("k"), 1, { limits, now: T0 }), "Conflict");
    });

    it("stops counting reservations whose lease ran out, and lists them for cleanup", async () => {
      const { ledger } = await ctx.isolated();
      const uid = fresh("u");
      const limits = { filesPerDay: 2 };
      const crashed = fresh("k");
      const renewed = fresh("k");
      await ledger.reserve({ uid, key: crashed, bytes: 5, limits, now: T0, leaseMs: 60_000 });
      await ledger.reserve({ uid, key: renewed, bytes: 5, limits, now: T0, leaseMs: 60_000 });
      expect(
        (await ledger.reserve({ uid, key: fresh("k"), bytes: 1, limits, now: at(30_000) })).status,
      ).toBe("exceeded");
      // A grow renews the lease: only the crashed upload's reservation runs out.
      await ledger.grow(renewed, 10, { limits, now: at(50_000), leaseMs: 60_000 });
      expect(await ledger.usage(uid, at(70_000))).toMatchObject({
        reserved: { files: 1, bytes: 10 },
      });
      const late = fresh("k");
      expect(
        await ledger.reserve({ uid, key: late, bytes: 1, limits, now: at(70_000) }),
      ).toMatchObject({
        status: "admitted",
      });
      expect((await ledger.reservationsOf(uid)).map((r) => r.key).sort()).toEqual(
        [crashed, renewed, late].sort(),
      );
      const expired = await ledger.expiredReservations({ before: at(70_000), limit: 10 });
      expect(expired).toEqual([
        { key: crashed, uid, bytes: 5, createdAt: T0, leaseUntil: at(60_000) },
      ]);
    });

    it("starts each UTC day's counters afresh", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      const limits = { filesPerDay: 1, bytesPerDay: 10 };
      const first = newRecord({ uid, size: 10, createdAt: T0 });
      await l.reserve({ uid, key: first.key, bytes: 10, limits, now: T0 });
      await l.record(first, { uploadStartedAt: T0 });
      const tonight = at(12 * 3600_000 - 1); // 23:59:59.999 UTC
      expect(
        (await l.reserve({ uid, key: fresh("k"), bytes: 1, limits, now: tonight })).status,
      ).toBe("exceeded");
      const tomorrow = at(12 * 3600_000);
      expect(
        await l.reserve({ uid, key: fresh("k"), bytes: 10, limits, now: tomorrow }),
      ).toMatchObject({
        status: "admitted",
      });
      expect((await l.usage(uid, at(DAY))).today).toEqual({ files: 0, bytes: 0 });
    });

    it("rejects unusable quota arguments with InvalidArgument", async () => {
      const l = ctx.shared;
      const base = { uid: "u", key: "k", bytes: 1, limits: {}, now: T0 };
      await expectLedgerError(l.reserve({ ...base, bytes: -1 }), "InvalidArgument");
      await expectLedgerError(
        l.reserve({ ...base, limits: { bytesTotal: -5 } }),
        "InvalidArgument",
      );
      await expectLedgerError(l.reserve({ ...base, leaseMs: 0 }), "InvalidArgument");
      await expectLedgerError(l.reserve({ ...base, now: new Date(Number.NaN) }), "InvalidArgument");
      await expectLedgerError(l.grow("k", 1.5, { limits: {}, now: T0 }), "InvalidArgument");
    });
  });
}
