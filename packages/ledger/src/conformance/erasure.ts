import { describe, expect, it } from "vitest";
import type { Ledger } from "../ledger.ts";
import type { ErasureJob } from "../types.ts";
import { T0, at, expectLedgerError, fresh, newRecord, type LedgerSuiteContext } from "./context.ts";

const key = (n: number) => ({
  wrapped: new Uint8Array([n, 1, 2, 3]),
  masterKeyId: "m1",
  createdAt: T0,
});

/** What a gateway's eraser does: page through the uid's records, remove each, report. */
async function erase(ledger: Ledger, job: ErasureJob, pages = Infinity): Promise<ErasureJob> {
  let current = job;
  for (let n = 0; n < pages; n++) {
    // Removed records leave the listing, so the next page starts after the cursor anyway.
    const page = await ledger.listByUid(job.uid, { cursor: current.cursor, limit: 4 });
    for (const r of page.items) await ledger.remove(r.key);
    current = await ledger.advanceErasure(job.id, {
      cursor: page.cursor ?? current.cursor,
      removed: page.items.length,
    });
    if (page.cursor === null) break;
  }
  return current;
}

export function erasureTests(ctx: LedgerSuiteContext): void {
  describe("erasure jobs", () => {
    it("starts one job per uid, reports progress, finishes, and starts afresh afterwards", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      for (let i = 0; i < 6; i++) await l.record(newRecord({ uid }), { uploadStartedAt: T0 });
      const job = await l.beginErasure(uid, at(1000));
      expect(job).toMatchObject({
        uid,
        state: "running",
        total: 6,
        done: 0,
        cursor: null,
        finishedAt: null,
      });
      expect(job.startedAt).toEqual(at(1000));
      expect(await l.beginErasure(uid, at(5000))).toEqual(job);
      expect(await l.latestErasure(uid)).toEqual(job);

      const progressed = await erase(l, job, 1);
      expect(progressed).toMatchObject({ id: job.id, state: "running", done: 4 });
      expect(await l.getErasure(job.id)).toEqual(progressed);
      const done = await erase(l, progressed);
      expect(done.done).toBe(6);
      const finished = await l.finishErasure(job.id, at(9000));
      expect(finished).toMatchObject({ state: "finished", done: 6, finishedAt: at(9000) });
      expect(await l.finishErasure(job.id, at(12_000))).toEqual(finished);
      await expectLedgerError(l.advanceErasure(job.id, { cursor: null, removed: 1 }), "Conflict");
      await expectLedgerError(l.finishErasure("no-such-job", T0), "Conflict");
      expect(await l.getErasure("no-such-job")).toBeUndefined();
      expect(await l.listByUid(uid)).toEqual({ items: [], cursor: null });

      const again = await l.beginErasure(uid, at(20_000));
      expect(again.id).not.toBe(job.id);
      expect(again).toMatchObject({ state: "running", total: 0 });
      expect(await l.latestErasure(uid)).toEqual(again);
    });

    it("refuses commits and admissions of a uid while its erasure runs", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      const upload = newRecord({ uid, createdAt: at(2000) });
      await l.reserve({ uid, key: upload.key, bytes: 10, limits: {}, now: T0 });
      const job = await l.beginErasure(uid, at(1000));
      expect(
        await l.reserve({ uid, key: fresh("k"), bytes: 1, limits: {}, now: at(1500) }),
      ).toEqual({
        status: "erasing",
        erasureId: job.id,
      });
      // Even an upload that started after the erasure began: the erasure is not over.
      expect(await l.record(upload, { uploadStartedAt: at(1200) })).toEqual({
        status: "refused",
        reason: "erasure",
        erasureId: job.id,
      });
      expect(await l.get(upload.key)).toBeUndefined();
      expect(await l.reservationsOf(uid)).toEqual([]);
      expect((await l.usage(uid, T0)).files).toBe(0);
      // Another uid is not affected.
      const bystander = newRecord({ uid: fresh("u") });
      expect((await l.record(bystander, { uploadStartedAt: T0 })).status).toBe("recorded");
    });

    it("refuses an upload that was in flight during a finished erasure, not one after it", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      const job = await l.beginErasure(uid, at(1000));
      await l.finishErasure(job.id, at(2000));
      const during = newRecord({ uid });
      expect(await l.record(during, { uploadStartedAt: at(500) })).toMatchObject({
        status: "refused",
      });
      expect(await l.record(newRecord({ uid }), { uploadStartedAt: at(1999) })).toMatchObject({
        status: "refused",
      });
      expect(await l.record(newRecord({ uid }), { uploadStartedAt: at(2000) })).toMatchObject({
        status: "recorded",
      });
      expect((await l.listByUid(uid)).items).toHaveLength(1);
    });

    it("leaves none of a uid's uploads behind when an erasure races with them", async () => {
      const a = ctx.shared;
      const b = await ctx.anotherShared();
      const uid = fresh("u");
      const uploads = Array.from({ length: 40 }, () => newRecord({ uid }));
      const commits = uploads.map((r, i) => (i % 2 ? a : b).record(r, { uploadStartedAt: T0 }));
      const job = await a.beginErasure(uid, at(1000));
      await erase(b, job);
      await a.finishErasure(job.id, at(2000));
      const outcomes = await Promise.all(commits);
      expect(outcomes.every((o) => o.status === "recorded" || o.status === "refused")).toBe(true);
      expect(await a.listByUid(uid)).toEqual({ items: [], cursor: null });
      for (const r of uploads) expect(await b.get(r.key)).toBeUndefined();
    });

    it("is resumed by another instance where the first one stopped", async () => {
      const { ledger: first, another } = await ctx.isolated();
      const uid = fresh("u");
      for (let i = 0; i < 10; i++)
        await first.record(newRecord({ uid, createdAt: at(i) }), { uploadStartedAt: T0 });
      await first.reserve({ uid, key: fresh("k"), bytes: 1, limits: {}, now: T0 });
      await first.putKeyIfAbsent(uid, key(1));
      const job = await first.beginErasure(uid, at(1000));
      await first.deleteKey(uid); // crypto-shredding comes first
      const stopped = await erase(first, job, 1);
      await first.close(); // the gateway dies mid-way

      const second = await another();
      const [resumed] = await second.unfinishedErasures();
      expect(resumed).toEqual(stopped);
      expect(resumed?.cursor).not.toBeNull();
      expect(await second.reservationsOf(uid)).toHaveLength(1);
      const done = await erase(second, resumed as ErasureJob);
      expect(done).toMatchObject({ total: 10, done: 10 });
      await second.finishErasure(job.id, at(5000));
      expect(await second.unfinishedErasures()).toEqual([]);
      expect(await second.listByUid(uid)).toEqual({ items: [], cursor: null });
      expect(await second.reservationsOf(uid)).toEqual([]);
      expect(await second.getKey(uid)).toBeUndefined();
      expect(await second.usage(uid, T0)).toMatchObject({ files: 0, bytes: 0 });
    });

    it("leases a running job to one runner at a time", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      await l.record(newRecord({ uid }), { uploadStartedAt: T0 });
      const job = await l.beginErasure(uid, at(1000));
      const claim = (runner: string, ms: number, leaseMs = 30_000) =>
        l.claimErasure(job.id, { runner, now: at(ms), leaseMs });
      expect(await claim("a", 2000)).toMatchObject({ id: job.id, state: "running" });
      expect(await claim("b", 3000)).toBeUndefined();
      // The holder renews (until 50 s); the other gets it only once the lease has run out.
      expect(await claim("a", 20_000)).toMatchObject({ id: job.id });
      expect(await claim("b", 49_999)).toBeUndefined();
      expect(await claim("b", 50_000)).toMatchObject({ id: job.id });
      expect(await claim("a", 51_000)).toBeUndefined();
      // Given back, it can be taken at once.
      expect(await claim("b", 52_000, 0)).toMatchObject({ id: job.id });
      expect(await claim("a", 52_000)).toMatchObject({ id: job.id });

      await l.finishErasure(job.id, at(60_000));
      expect(await claim("a", 61_000)).toBeUndefined();
      expect(await claim("c", 200_000)).toBeUndefined();
      const none = { runner: "a", now: at(1), leaseMs: 1000 };
      expect(await l.claimErasure("no-such-job", none)).toBeUndefined();
      await expectLedgerError(l.claimErasure(job.id, { ...none, leaseMs: -1 }), "InvalidArgument");
      await expectLedgerError(l.claimErasure(job.id, { ...none, runner: "" }), "InvalidArgument");
    });

    it("grants a job to exactly one of many runners claiming at once", async () => {
      const l = ctx.shared;
      const job = await l.beginErasure(fresh("u"), at(1000));
      const runners = ["r1", "r2", "r3", "r4", "r5", "r6"];
      const claims = await Promise.all(
        runners.map((runner) => l.claimErasure(job.id, { runner, now: at(2000), leaseMs: 60_000 })),
      );
      expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    });

    it("drops what the ledger still holds for the uid when the job finishes", async () => {
      const l = ctx.shared;
      const uid = fresh("u");
      const job = await l.beginErasure(uid, at(1000));
      // A key created by an upload racing with the shredding is dropped too.
      await l.putKeyIfAbsent(uid, key(2));
      await l.finishErasure(job.id, at(2000));
      expect(await l.getKey(uid)).toBeUndefined();
    });

    it("forgets finished jobs that ended before a date", async () => {
      const { ledger } = await ctx.isolated();
      const old = await ledger.beginErasure("u-old", T0);
      await ledger.finishErasure(old.id, at(1000));
      const recent = await ledger.beginErasure("u-new", T0);
      await ledger.finishErasure(recent.id, at(5000));
      const running = await ledger.beginErasure("u-running", T0);
      expect(await ledger.forgetErasures(at(2000))).toBe(1);
      expect(await ledger.getErasure(old.id)).toBeUndefined();
      expect((await ledger.getErasure(recent.id))?.state).toBe("finished");
      expect((await ledger.unfinishedErasures()).map((j) => j.id)).toEqual([running.id]);
    });
  });
}
