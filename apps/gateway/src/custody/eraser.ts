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
}

/** Records removed per step; progress is saved after each, so a restart resumes there. */
const PAGE = 100;

/**
 * Erases what a uid stored: its key first (so its objects are unreadable at once, in backups
 * too, when encryption is on), then each object from storage and then from the ledger, page
 * by page with progress saved in the ledger's job. Idempotent and resumable: erasing a uid
 * that is being erased joins the running job, and a restarted gateway resumes every
 * unfinished one. Uploads of the uid that race it are refused at their commit (the ledger
 * knows the erasure), and the reservations of uploads in flight are swept too.
 */
export class Eraser {
  readonly #options: EraserOptions;
  readonly #running = new Map<string, Promise<ErasureJob>>();

  constructor(options: EraserOptions) {
    this.#options = options;
  }

  /** Starts (or joins) the erasure of `uid`; resolves with the job as it begins. */
  async erase(uid: string, actor: string): Promise<ErasureJob> {
    const { ledger, now, audit } = this.#options;
    const job = await ledger.beginErasure(uid, now());
    if (!this.#running.has(job.id))
      audit.record({ event: "erase.uid.started", actor, uid, job: job.id });
    this.#start(job, actor);
    return job;
  }

  /** Resumes every erasure a previous process left unfinished. */
  async resumeAll(): Promise<number> {
    const jobs = await this.#options.ledger.unfinishedErasures();
    for (const job of jobs) this.#start(job, "resume");
    return jobs.length;
  }

  /** Resolves once the job has finished (for the admin API's `wait` and for tests). */
  finished(id: string): Promise<ErasureJob> | undefined {
    return this.#running.get(id);
  }

  /** Waits for running jobs (shutdown); what is left resumes at the next start. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  #start(job: ErasureJob, actor: string): void {
    if (this.#running.has(job.id)) return;
    const run = this.#run(job, actor).finally(() => this.#running.delete(job.id));
    run.catch((err: unknown) =>
      this.#options.logger.error(
        { err, uid: job.uid, job: job.id },
        "erasure stopped; it resumes at the next start",
      ),
    );
    this.#running.set(job.id, run);
  }

  async #run(start: ErasureJob, actor: string): Promise<ErasureJob> {
    const { ledger, now, audit, shred } = this.#options;
    await shred?.(start.uid);
    let job = start;
    let removed = 0;
    for (;;) {
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
