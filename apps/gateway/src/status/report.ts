import type { StorageAdapter } from "@mediagate/core";
import type { Ledger } from "@mediagate/ledger";
import { checkFailure, runChecks, type ReadinessCheck } from "../health/route.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { GATEWAY_VERSION } from "../version.ts";
import type { UploadActivity, UploadCounter } from "./counter.ts";

/** What GET /status.json answers. */
export interface StatusBody {
  result: true;
  gateway: { version: string; backend: string; startedAt: string; node: string };
  readiness: {
    ready: boolean;
    draining: boolean;
    checks: { name: string; ok: boolean; ms: number; code?: string; detail?: string }[];
  };
  /** Requests being served, this one not counted. */
  inFlight: number;
  uploads: UploadActivity;
  /** From the ledger; null with LEDGER=off. */
  storage: StorageUsed | { error: "LEDGER_UNAVAILABLE" } | null;
}

export interface StorageUsed {
  records: number;
  bytes: number;
  /** When the ledger was last asked (answers are reused for a while: it is a scan). */
  measuredAt: string;
}

export interface StatusReportOptions {
  storage: StorageAdapter;
  ledger: Ledger | undefined;
  /** The ledger's readiness, as /readyz checks it. */
  ledgerCheck: () => Promise<void>;
  lifecycle: Lifecycle;
  counter: UploadCounter;
  checkTimeoutMs?: number;
  /** How long the ledger's totals are reused. */
  statsTtlMs?: number;
}

/** The first line of what a failed check threw, short: the page shows it next to the check. */
function detailOf(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : undefined;
  return message?.split("\n", 1)[0]?.slice(0, 200) || undefined;
}

/**
 * Everything the status page shows, gathered per request: readiness runs the same checks
 * as /readyz (concurrent requests share one run), the ledger's totals are cached.
 */
export class StatusReport {
  readonly #options: StatusReportOptions;
  readonly #checks: ReadinessCheck[];
  readonly #startedAt = new Date().toISOString();
  #readiness: Promise<StatusBody["readiness"]> | undefined;
  #stats: { value: StorageUsed; at: number } | undefined;
  #statsPending: Promise<StatusBody["storage"]> | undefined;

  constructor(options: StatusReportOptions) {
    this.#options = options;
    const { storage, ledger, ledgerCheck } = options;
    this.#checks = [{ name: storage.name, check: (signal) => storage.check({ signal }) }];
    // With LEDGER=off there is nothing to check (/readyz's check then passes at once).
    if (ledger) this.#checks.push({ name: "ledger", check: ledgerCheck });
  }

  async read(): Promise<StatusBody> {
    const { storage, lifecycle, counter } = this.#options;
    const [readiness, used] = await Promise.all([this.#readinessOnce(), this.#storageUsed()]);
    return {
      result: true,
      gateway: {
        version: GATEWAY_VERSION,
        backend: storage.name,
        startedAt: this.#startedAt,
        node: process.version,
      },
      readiness,
      // Besides this one.
      inFlight: Math.max(0, lifecycle.inFlight - 1),
      uploads: counter.snapshot(),
      storage: used,
    };
  }

  #readinessOnce(): Promise<StatusBody["readiness"]> {
    this.#readiness ??= this.#readinessNow().finally(() => (this.#readiness = undefined));
    return this.#readiness;
  }

  async #readinessNow(): Promise<StatusBody["readiness"]> {
    const { storage, lifecycle, checkTimeoutMs = 5000 } = this.#options;
    const outcomes = await runChecks(this.#checks, checkTimeoutMs, { all: true });
    const checks = outcomes.map(({ name, ok, ms, error }) =>
      ok
        ? { name, ok, ms }
        : { name, ok, ms, code: checkFailure(name, storage.name).code, detail: detailOf(error) },
    );
    const draining = lifecycle.draining;
    return { ready: !draining && checks.every((check) => check.ok), draining, checks };
  }

  #storageUsed(): Promise<StatusBody["storage"]> {
    const { ledger, statsTtlMs = 30_000 } = this.#options;
    if (!ledger) return Promise.resolve(null);
    if (this.#stats && Date.now() - this.#stats.at < statsTtlMs)
      return Promise.resolve(this.#stats.value);
    this.#statsPending ??= ledger
      .stats()
      .then(({ records, bytes }) => {
        const at = Date.now();
        const value = { records, bytes, measuredAt: new Date(at).toISOString() };
        this.#stats = { value, at };
        return value;
      })
      // The last good totals, if any, beat none; failures are not cached.
      .catch(() => this.#stats?.value ?? { error: "LEDGER_UNAVAILABLE" as const })
      .finally(() => (this.#statsPending = undefined));
    return this.#statsPending;
  }
}
