import { describe, expect, it } from "vitest";
import { T0, expectLedgerError, fresh, newRecord, type LedgerSuiteContext } from "./context.ts";

export function lifecycleTests(ctx: LedgerSuiteContext): void {
  describe("lifecycle", () => {
    it("applies every migration once, however many instances open the database at once", async () => {
      const { ledger, another } = await ctx.isolated();
      const applied = await ledger.migrations();
      expect(applied.length).toBeGreaterThan(0);
      expect(applied.map((m) => m.version)).toEqual(applied.map((_, i) => i + 1));
      const others = await Promise.all([another(), another()]);
      for (const other of others) expect(await other.migrations()).toEqual(applied);
      // And the data written through one is seen by all.
      const r = newRecord();
      await others[0]?.record(r, { uploadStartedAt: T0 });
      expect((await ledger.get(r.key))?.sha256).toBe(r.sha256);
    });

    it("migrates a new database from several instances started together", async () => {
      const open = await ctx.emptyDatabase();
      const all = await Promise.all([open(), open(), open()]);
      const lists = await Promise.all(all.map((l) => l.migrations()));
      for (const list of lists) expect(list).toEqual(lists[0]);
    });

    it("answers check() while the database does, and rejects Unavailable once closed", async () => {
      const { ledger } = await ctx.isolated();
      await expect(ledger.check()).resolves.toBeUndefined();
      await ledger.close();
      await ledger.close(); // idempotent
      await expectLedgerError(ledger.check(), "Unavailable");
      await expectLedgerError(ledger.get("k"), "Unavailable");
    });

    const outage = ctx.options.outage;
    if (outage) {
      it("fails Unavailable while the database server is down, and recovers without a restart", async () => {
        const l = ctx.shared;
        const before = newRecord({ uid: fresh("u") });
        await l.record(before, { uploadStartedAt: T0 });
        await outage.down();
        try {
          await expectLedgerError(l.check(), "Unavailable");
          await expectLedgerError(l.record(newRecord(), { uploadStartedAt: T0 }), "Unavailable");
          await expectLedgerError(l.get(before.key), "Unavailable");
        } finally {
          await outage.up();
        }
        await expect(l.check()).resolves.toBeUndefined();
        expect((await l.get(before.key))?.key).toBe(before.key);
        const after = newRecord();
        expect((await l.record(after, { uploadStartedAt: T0 })).status).toBe("recorded");
      });
    }
  });
}
