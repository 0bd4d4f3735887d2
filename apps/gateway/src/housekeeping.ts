import type { Logger } from "pino";
import { supportsAbandonedUploadRemoval, type StorageAdapter } from "@mediagate/core";
import { FsAdapter } from "@mediagate/fs";
import type { Spool } from "./upload/spool.ts";

/**
 * What a process killed mid-upload leaves behind, removed at start and then periodically
 * (not only at a restart a day later): spool files, the local folder's temp files and
 * orphaned sidecars, and multipart uploads or staged blocks a cloud store keeps (and
 * bills) though no object shows them. Each job logs what it removed.
 */
export interface HousekeepingOptions {
  spool: Spool;
  storage: StorageAdapter;
  logger: Logger;
  /** Local leftovers older than this belong to no live upload (LEFTOVER_AGE). */
  leftoverAgeMs: number;
  /** Cloud uploads begun this long ago are abandoned (ABANDONED_UPLOAD_AGE). */
  abandonedUploadAgeMs: number;
}

/** How often local leftovers are looked for. */
const LOCAL_EVERY_MS = 5 * 60_000;
const CLOUD_EVERY_MS = 24 * 60 * 60_000;

export function startHousekeeping(options: HousekeepingOptions): { stop(): void } {
  const { spool, storage, logger, leftoverAgeMs, abandonedUploadAgeMs } = options;
  const jobs: [number, () => Promise<void>][] = [
    [
      LOCAL_EVERY_MS,
      async () => {
        const swept = await spool.sweep(leftoverAgeMs);
        if (swept.files > 0) logger.info(swept, "removed stale spooled parts");
      },
    ],
  ];
  if (storage instanceof FsAdapter) {
    jobs.push([
      LOCAL_EVERY_MS,
      async () => {
        const swept = await storage.sweepLeftovers({ olderThanMs: leftoverAgeMs });
        if (swept.tempFiles + swept.sidecars > 0) {
          logger.info(swept, "removed leftovers from the storage folder");
        }
      },
    ]);
  }
  if (supportsAbandonedUploadRemoval(storage)) {
    jobs.push([
      CLOUD_EVERY_MS,
      async () => {
        const { removed } = await storage.removeAbandonedUploads({
          olderThanMs: abandonedUploadAgeMs,
        });
        if (removed > 0) logger.info({ removed }, "removed abandoned uploads from the store");
      },
    ]);
  }
  const timers = jobs.map(([every, job]) => {
    let running = false;
    const run = () => {
      if (running) return;
      running = true;
      job()
        .catch((err: unknown) => logger.warn({ err }, "housekeeping failed; it will try again"))
        .finally(() => (running = false));
    };
    run();
    const timer = setInterval(run, every);
    timer.unref();
    return timer;
  });
  return {
    stop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
