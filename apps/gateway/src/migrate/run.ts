import type { StorageAdapter } from "@mediagate/core";
import type { Ledger, LedgerRecord } from "@mediagate/ledger";
import { copyObject, removeCopy, type CopyOutcome } from "./copy.ts";

const PAGE = 500;
/** Failed keys kept for the summary; the count goes on past it. */
const KEPT_FAILURES = 1000;
/** The target failing this many copies in a row (down, full, refusing) stops the run. */
export const MAX_TARGET_FAILURES_IN_A_ROW = 10;

/** Records the run leaves alone, by reason. */
export interface Skipped {
  /** Already point at the target (an earlier run, or one that was interrupted). */
  done: number;
  /** Claimed by a retention sweep: their objects are being removed. */
  deleting: number;
  /** Removed from the ledger while they were copied (erased, expired): the copy was undone. */
  removed: number;
}

export interface Plan {
  /** Records to copy and the bytes the ledger records for them. */
  objects: number;
  bytes: number;
  skipped: Skipped;
  /** The first keys to copy, for a dry run's listing. */
  sample: string[];
}

export interface Failure {
  key: string;
  reason: string;
}

export interface MigrationResult {
  copied: number;
  /** Bytes copied (encrypted objects: their ciphertext). */
  bytes: number;
  skipped: Skipped;
  failed: number;
  /** The first failures, with why. */
  failures: Failure[];
  /** Set when the run stopped before the end: interrupted, or the target kept failing. */
  stopped: string | undefined;
  elapsedMs: number;
}

export interface MigrationOptions {
  source: StorageAdapter;
  target: StorageAdapter;
  ledger: Ledger;
  /** What migrated records are pointed at in the ledger (see target.ts, ledgerName). */
  targetName: string;
  /** Objects copied at a time. */
  concurrency: number;
  signal: AbortSignal;
  onBytes?: (bytes: number) => void;
  /** Called once per object the run took on (copied, failed, or removed meanwhile). */
  onObject?: (outcome: CopyOutcome) => void;
}

type Verdict = "copy" | keyof Omit<Skipped, "removed">;

const verdict = (record: LedgerRecord, targetName: string): Verdict =>
  record.backend === targetName ? "done" : record.state === "deleting" ? "deleting" : "copy";

/** Every record, page by page in key order (a key cursor: updates never disturb it). */
async function* records(ledger: Ledger): AsyncGenerator<LedgerRecord> {
  let cursor: string | null = null;
  do {
    const page = await ledger.listAll({ cursor, limit: PAGE });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor);
}

/** What a run would do now: read from the ledger only. */
export async function planMigration(ledger: Ledger, targetName: string): Promise<Plan> {
  const plan: Plan = {
    objects: 0,
    bytes: 0,
    skipped: { done: 0, deleting: 0, removed: 0 },
    sample: [],
  };
  for await (const record of records(ledger)) {
    const v = verdict(record, targetName);
    if (v !== "copy") {
      plan.skipped[v]++;
      continue;
    }
    plan.objects++;
    plan.bytes += record.size;
    if (plan.sample.length < 20) plan.sample.push(record.key);
  }
  return plan;
}

/**
 * Copies every recorded object not yet on the target, `concurrency` at a time, and points
 * each record at the target once its copy is verified. Resumable: a re-run skips what the
 * ledger already shows on the target, so a crash costs at most the copies in flight. The
 * source is never changed.
 */
export async function migrate(options: MigrationOptions): Promise<MigrationResult> {
  const { source, target, ledger, targetName, signal } = options;
  const started = performance.now();
  const result: MigrationResult = {
    copied: 0,
    bytes: 0,
    skipped: { done: 0, deleting: 0, removed: 0 },
    failed: 0,
    failures: [],
    stopped: undefined,
    elapsedMs: 0,
  };
  let targetFailuresInARow = 0;
  const fail = (key: string, reason: string) => {
    result.failed++;
    if (result.failures.length < KEPT_FAILURES) result.failures.push({ key, reason });
  };
  // Shared by the workers: an async generator queues concurrent next() calls.
  const pending = (async function* () {
    for await (const record of records(ledger)) {
      const v = verdict(record, targetName);
      if (v === "copy") yield record;
      else result.skipped[v]++;
    }
  })();

  const copyNext = async (record: LedgerRecord) => {
    const outcome = await copyObject(record, source, target, {
      signal,
      onBytes: (n) => options.onBytes?.(n),
    });
    if (signal.aborted) return;
    if (!outcome.ok) {
      fail(record.key, outcome.reason);
      targetFailuresInARow = outcome.side === "target" ? targetFailuresInARow + 1 : 0;
      if (targetFailuresInARow >= MAX_TARGET_FAILURES_IN_A_ROW) {
        result.stopped ??= `the target failed ${targetFailuresInARow} copies in a row (last: ${outcome.reason})`;
      }
    } else {
      targetFailuresInARow = 0;
      // Throws when the ledger is unreachable: the worker stops the run (the copy stays, and
      // a re-run copies it again).
      if (await ledger.setBackend(record.key, targetName)) {
        result.copied++;
        result.bytes += outcome.bytes;
      } else {
        // Erased or expired meanwhile: the gateway already removed it from the source.
        await removeCopy(target, record.key);
        result.skipped.removed++;
      }
    }
    options.onObject?.(outcome);
  };

  const worker = async () => {
    while (!signal.aborted && result.stopped === undefined) {
      try {
        const next = await pending.next();
        if (next.done) return;
        await copyNext(next.value);
      } catch (err) {
        result.stopped ??= `the ledger failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    await pending.return(undefined);
  }
  if (signal.aborted) result.stopped ??= "interrupted";
  result.elapsedMs = performance.now() - started;
  return result;
}
