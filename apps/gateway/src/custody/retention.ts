import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Ledger } from "@mediagate/ledger";
import type { Metrics } from "../observability/metrics.ts";
import type { Audit } from "./audit.ts";
import type { Eraser } from "./eraser.ts";

export interface SweeperOptions {
  ledger: Ledger;
  eraser: Eraser;
  audit: Audit;
  logger: Logger;
  now: () => Date;
  /** How often expired objects are looked for. */
  intervalMs: number;
  /** Most deletions per second, so a backlog never floods the store. */
  ratePerSecond: number;
  metrics?: Metrics | undefined;
}

/** Records claimed per batch; a claim lapses after the lease if this process dies. */
const BATCH = 100;
const LEASE_MS = 5 * 60_000;

/**
 * The retention sweeper: deletes objects whose time has come, from storage first and then
 * from the ledger, in batches at a bounded rate. Batches are claimed in the ledger, so
 * several gateways sharing PostgreSQL never sweep the same object twice.
 */
export class RetentionSweeper {
  readonly #options: SweeperOptions;
  readonly #owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;
  /** Objects removed since start. */
  removed = 0;

  constructor(options: SweeperOptions) {
    this.#options = options;
  }

  start(): void {
    const tick = () => void this.sweep().catch(() => undefined);
    this.#timer = setInterval(tick, this.#options.intervalMs);
    this.#timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping?.catch(() => undefined);
  }

  /** Sweeps everything expired at `now` (one sweep at a time); resolves with how many. */
  sweep(now = this.#options.now()): Promise<number> {
    this.#sweeping ??= this.#sweepAll(now).finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweepAll(now: Date): Promise<number> {
    const { ledger, eraser, audit, logger, ratePerSecond } = this.#options;
    let swept = 0;
    try {
      for (;;) {
        const started = Date.now();
        const batch = await ledger.claimExpired({
          now,
          limit: BATCH,
          owner: this.#owner,
          leaseMs: LEASE_MS,
        });
        for (const record of batch) {
          await eraser.removeObject(record);
          audit.record({
            event: "retention.deleted",
            actor: "retention",
            key: record.key,
            uid: record.uid,
            expiredAt: (record.expiresAt ?? now).toISOString(),
          });
        }
        swept += batch.length;
        if (batch.length < BATCH) break;
        const due = (batch.length / ratePerSecond) * 1000 - (Date.now() - started);
        if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      }
    } catch (err) {
      this.#options.metrics?.sweeps.inc({ outcome: "failed" });
      logger.warn({ err, removed: swept }, "retention sweep stopped; it continues at the next one");
      throw err;
    } finally {
      this.removed += swept;
      this.#options.metrics?.retentionDeleted.inc(swept);
      if (swept > 0) logger.info({ removed: swept }, "retention removed expired objects");
    }
    this.#options.metrics?.sweeps.inc({ outcome: "done" });
    return swept;
  }
}
