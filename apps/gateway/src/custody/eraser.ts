import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { isStorageError, type StorageAdapter } from "@mediagate/core";
import type { ErasureJob, Ledger, LedgerRecord } from "@mediagate/ledger";
import type { Metrics } from "../observability/metrics.ts";
import type { Audit } from "./audit.ts";

export interface EraserOptions {
  ledger: Ledger;
  storage: StorageAdapter;
  audit: Audit;
  logger: Logger;
  now: () => Date;
  /** Runs first when a uid is erased: destroys its encryption key (crypto-shredding). */
  shred?: ((uid: string) => Promise<void>) | undefined;
  metrics?: Metrics | undefined;
  /** How long a job's lease holds unless renewed (default 30 s); renewed at a third of it. */
  leaseMs?: number;
  /** How often unfinished jobs nobody holds are looked for (default 15 s). */
  sweepIntervalMs?: number;
}

/** Records removed per step; progress is saved after each, so a restart resumes there. */
const PAGE = 100;
/** How often a caller waiting on a job another instance runs asks the ledger. */
const POLL_MS = 500;

/**
 * Erases what a uid stored: its key first (so its objects are unreadable at once, in backups
 * too, when encryption is on), then each object from storage and then from the ledger, page
 * by page with progress saved in the ledger's job. Idempotent and resumable: erasing a uid
 * that is being erased joins the running job. Uploads of the uid that race it are refused at
 * their commit (the ledger knows the erasure), and the reservations of uploads in flight are
 * swept too.
 *
 * Instances sharing a ledger run each job once: a job runs under a lease in the ledger,
 * renewed while it runs and given back when it stops. Every instance looks for unfinished
 * jobs nobody holds, at start and then every `sweepIntervalMs`, so a job whose instance died
 * is taken over once its lease runs out, and one that stopped on an error is retried.
 */
export class Eraser {
  readonly #options: EraserOptions;
  readonly #running = new Map<string, Promise<ErasureJob>>();
  readonly #runner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #leaseMs: number;
  #sweep: NodeJS.Timeout | undefined;

  constructor(options: EraserOptions) {
    this.#options = options;
    this.#leaseMs = options.leaseMs ?? 30_000;
  }

  /** Starts (or joins) the erasure of `uid`; resolves with the job as it begins. */
  async erase(uid: string, actor: string): Promise<ErasureJob> {
    const { ledger, now, audit } = this.#options;
    const job = await ledger.beginErasure(uid, now());
    if (!this.#running.has(job.id))
      audit.record({ event: "erase.uid.started", actor, uid, job: job.id });
    await this.#start(job, actor);
    return job;
  }

  /**
   * Takes up every unfinished erasure no live lease holds (one a previous process left, or
   * one that stopped on an error); resolves with how many this instance took.
   */
  async resumeAll(): Promise<number> {
    const jobs = await this.#options.ledger.unfinishedErasures();
    const taken = await Promise.all(jobs.map((job) => this.#start(job, "resume")));
    return taken.filter(Boolean).length;
  }

  /** Runs `resumeAll` every `sweepIntervalMs` until `idle()`. */
  startSweeping(): void {
    const tick = () =>
      void this.resumeAll().then(
        (taken) => taken > 0 && this.#options.logger.info({ taken }, "took over erasures"),
        (err: unknown) => this.#options.logger.error({ err }, "could not look for erasures"),
      );
    this.#sweep ??= setInterval(tick, this.#options.sweepIntervalMs ?? 15_000);
    this.#sweep.unref();
  }

  /**
   * Resolves with the job once it has finished, wherever it runs (the admin API's `wait`):
   * this instance's run, or the ledger's record of another's. Undefined for an unknown job.
   */
  async finished(id: string, signal?: AbortSignal): Promise<ErasureJob | undefined> {
    for (;;) {
      const job = (await this.#running.get(id)?.catch(() => undefined)) ?? undefined;
      const current = job?.state === "finished" ? job : await this.#options.ledger.getErasure(id);
      if (current === undefined || current.state === "finished") return current;
      await sleep(POLL_MS, undefined, { signal });
    }
  }

  /** Stops looking for jobs and waits for running ones (shutdown), which give their leases back. */
  async idle(): Promise<void> {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    await Promise.allSettled([...this.#running.values()]);
  }

  /** Runs the job here if its lease can be had; true when it started. */
  async #start(job: ErasureJob, actor: string): Promise<boolean> {
    if (this.#running.has(job.id)) return true;
    // Set before the claim's await, so a second call for the job joins rather than claims.
    let claimed!: (value: boolean) => void;
    const started = new Promise<boolean>((resolve) => (claimed = resolve));
    const run = this.#run(job, actor, claimed).finally(() => this.#running.delete(job.id));
    this.#running.set(job.id, run);
    run.catch((err: unknown) =>
      this.#options.logger.error(
        { err, uid: job.uid, job: job.id },
        "erasure stopped; it is retried shortly",
      ),
    );
    return started;
  }

  async #run(
    start: ErasureJob,
    actor: string,
    claimed: (value: boolean) => void,
  ): Promise<ErasureJob> {
    const { ledger, now } = this.#options;
    const claim = (leaseMs: number) =>
      ledger.claimErasure(start.id, { runner: this.#runner, now: now(), leaseMs });
    const held = await claim(this.#leaseMs).catch((err: unknown) => {
      claimed(false);
      throw err;
    });
    claimed(held !== undefined);
    // Another instance runs it (or it has just finished): nothing to do here.
    if (held === undefined) return (await ledger.getErasure(start.id)) ?? start;
    const lease = new Lease(() => claim(this.#leaseMs), this.#leaseMs / 3);
    try {
      return await this.#erase(held, actor, lease);
    } finally {
      lease.stop();
      // Given back at once, so a retry need not wait for it to run out.
      await claim(0).catch(() => undefined);
    }
  }

  async #erase(start: ErasureJob, actor: string, lease: Lease): Promise<ErasureJob> {
    const { ledger, now, audit, shred } = this.#options;
    await shred?.(start.uid);
    let job = start;
    let removed = 0;
    for (;;) {
      lease.check();
      // Removed records leave the listing, so each page starts at the front again.
      const page = await ledger.listByUid(job.uid, { limit: PAGE });
      for (const record of page.items) await this.removeObject(record);
      removed += page.items.length;
      job = await ledger.advanceErasure(job.id, { cursor: null, removed: page.items.length });
      if (page.items.length === 0) break;
    }
    // Uploads in flight when it began: their objects may have landed without a record.
    for (const reservation of await ledger.reservationsOf(job.uid)) {
      await this.#deleteObject(reservation.key);
    }
    lease.check();
    job = await ledger.finishErasure(job.id, now());
    audit.record({ event: "erase.uid.finished", actor, uid: job.uid, job: job.id, removed });
    this.#options.metrics?.erasures.inc({ event: "finished" });
    return job;
  }

  /** One object: from storage, then from the ledger (a failure in between leaves a record to retry). */
  async removeObject(record: Pick<LedgerRecord, "key">): Promise<void> {
    await this.#deleteObject(record.key);
    await this.#options.ledger.remove(record.key);
  }

  async #deleteObject(key: string): Promise<void> {
    try {
      await this.#options.storage.delete(key);
    } catch (err) {
      if (!isStorageError(err, "NotFound")) throw err;
    }
  }
}

/** A job's lease, renewed on a timer while it runs; `check()` throws once it was lost. */
class Lease {
  readonly #timer: NodeJS.Timeout;
  #lost: Error | undefined;

  constructor(renew: () => Promise<unknown>, everyMs: number) {
    this.#timer = setInterval(() => {
      renew().then(
        (job) => {
          if (job === undefined) this.#lost ??= new Error("another instance took the erasure over");
        },
        // A ledger that cannot be reached now may answer the next renewal in time.
        () => undefined,
      );
    }, everyMs);
    this.#timer.unref();
  }

  check(): void {
    if (this.#lost) throw this.#lost;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
