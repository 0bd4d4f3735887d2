import type { RoundResult } from "./load-loop.ts";
import type { CellId, CellResult } from "./results.ts";
import { ForeignLoad } from "./foreign-load.ts";
import { RssSampler } from "./rss-sampler.ts";
import { median, percentile } from "./stats.ts";
import { MiB } from "./units.ts";

export interface CellRun {
  /** The process whose memory is reported (the server under test, or the SDK runner). */
  pid: number;
  rounds: number;
  round: () => Promise<RoundResult>;
  /** Untimed requests first: connections open, code paths warm. */
  warmup?: () => Promise<void>;
}

/**
 * Measures one cell: warm-up, then `rounds` timed rounds while the process under test's
 * memory is sampled from outside. Throughput is the median round; latency percentiles pool
 * every request of every round.
 */
export async function measureCell(id: CellId, run: CellRun): Promise<CellResult> {
  const failed = (note: string, rounds = 0, requests = 0): CellResult => ({
    ...id,
    status: "failed",
    note,
    rounds,
    requests,
  });
  try {
    await run.warmup?.();
  } catch (err) {
    return failed(`warm-up failed: ${(err as Error).message}`);
  }
  const sampler = new RssSampler(run.pid);
  const foreign = new ForeignLoad();
  sampler.start();
  const rounds: RoundResult[] = [];
  try {
    for (let i = 0; i < run.rounds; i++) {
      const result = await run.round();
      rounds.push(result);
      if (result.errors.length > 0) break;
    }
  } catch (err) {
    rounds.push({
      requests: 0,
      bytes: 0,
      wallMs: 0,
      latenciesMs: [],
      errors: [(err as Error).message],
    });
  }
  const rss = sampler.stop();
  const foreignCores = foreign.cores();
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const errors = rounds.flatMap((r) => r.errors);
  if (errors.length > 0) return failed(errors[0] ?? "failed", rounds.length, requests);
  const latencies = rounds.flatMap((r) => r.latenciesMs);
  return {
    ...id,
    status: "ok",
    rounds: rounds.length,
    requests,
    mibPerSec: median(rounds.map((r) => r.bytes / MiB / (r.wallMs / 1000))),
    requestsPerSec: median(rounds.map((r) => r.requests / (r.wallMs / 1000))),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    peakRssBytes: rss.peakBytes,
    foreignCores,
  };
}

export function skippedCell(id: CellId, note: string): CellResult {
  return { ...id, status: "skipped", note, rounds: 0, requests: 0 };
}
