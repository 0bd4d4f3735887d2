import { describe, expect, it } from "vitest";
import type { Ledger } from "../ledger.ts";
import { DAY, T0, at, expectLedgerError, newRecord, type LedgerSuiteContext } from "./context.ts";

const MINUTE = 60_000;

async function seed(ledger: Ledger, expiries: (number | null)[]): Promise<string[]> {
  const keys: string[] = [];
  for (const [i, expires] of expiries.entries()) {
    const r = newRecord({
      key: `r/${String(i).padStart(4, "0")}`,
      expiresAt: expires === null ? null : at(expires),
    });
    await ledger.record(r, { uploadStartedAt: T0 });
    keys.push(r.key);
  }
  return keys;
}

export function retentionTests(ctx: LedgerSuiteContext): void {
  describe("retention claims", () => {
    it("claims expired records once, soonest first, in batches, and marks them deleting", async () => {
      const { ledger } = await ctx.isolated();
      const keys = await seed(ledger, [3 * DAY, DAY, null, 2 * DAY, 10 * DAY]);
      const now = at(5 * DAY);
      const claim = { now, limit: 2, owner: "gw-1", leaseMs: 10 * MINUTE };

      const first = await ledger.claimExpired(claim);
      expect(first.map((r) => r.key)).toEqual([keys[1], keys[3]]);
      expect(first.every((r) => r.state === "deleting")).toBe(true);
      expect((await ledger.get(keys[1] as string))?.state).toBe("deleting");
      expect((await ledger.claimExpired(claim)).map((r) => r.key)).toEqual([keys[0]]);
      // Everything due is claimed: the claims hold for their lease.
      expect(await ledger.claimExpired(claim)).toEqual([]);
      expect(await ledger.claimExpired({ ...claim, now: at(5 * DAY + 9 * MINUTE) })).toEqual([]);

      // Storage deletion done for one: the sweeper removes its record.
      expect(await ledger.remove(keys[1] as string)).toBe(true);
      // The owner of the others died: after the lease, another sweeper takes them over.
      const later = await ledger.claimExpired({
        ...claim,
        now: at(5 * DAY + 10 * MINUTE),
        owner: "gw-2",
        limit: 10,
      });
      expect(later.map((r) => r.key)).toEqual([keys[3], keys[0]]);
      expect((await ledger.get(keys[2] as string))?.state).toBe("stored");
    });

    it("never hands one record to two sweepers claiming at once from two instances", async () => {
      const { ledger, another } = await ctx.isolated();
      const other = await another();
      const total = 120;
      const keys = await seed(
        ledger,
        Array.from({ length: total }, (_, i) => i * 1000),
      );
      const now = at(DAY);
      const sweep = async (l: Ledger, owner: string) => {
        const mine: string[] = [];
        for (;;) {
          const batch = await l.claimExpired({ now, limit: 7, owner, leaseMs: 10 * MINUTE });
          if (batch.length === 0) return mine;
          mine.push(...batch.map((r) => r.key));
        }
      };
      const results = await Promise.all([
        sweep(ledger, "gw-a"),
        sweep(other, "gw-b"),
        sweep(ledger, "gw-c"),
        sweep(other, "gw-d"),
      ]);
      const all = results.flat();
      expect(new Set(all).size).toBe(all.length);
      expect(all.sort()).toEqual(keys.sort());
    });

    it("rejects unusable claim arguments with InvalidArgument", async () => {
      const base = { now: T0, limit: 10, owner: "gw", leaseMs: MINUTE };
      await expectLedgerError(ctx.shared.claimExpired({ ...base, limit: 0 }), "InvalidArgument");
      await expectLedgerError(ctx.shared.claimExpired({ ...base, owner: "" }), "InvalidArgument");
      await expectLedgerError(ctx.shared.claimExpired({ ...base, leaseMs: -1 }), "InvalidArgument");
    });
  });
}
