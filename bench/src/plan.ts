import { BACKENDS, type BackendName } from "./backend.ts";
import type { RoundPlan } from "./load-loop.ts";
import { GiB, KiB, MiB } from "./units.ts";

/** What one `npm run bench` invocation measures, and how hard. */
export interface BenchPlan {
  mode: "full" | "quick";
  backends: BackendName[];
  sizes: number[];
  concurrencies: number[];
  /** Rounds per cell; the reported throughput is the median round. */
  rounds: number;
  /** A round of small bodies runs this long. */
  roundSeconds: number;
  /** A round stops issuing requests after this many payload bytes (but always issues one per slot). */
  roundBytes: number;
  /** Fewest requests a round of bodies under 1 MiB makes, so p99 means something. */
  minSmallRequests: number;
  downloads: boolean;
  /**
   * Whether the read-stream pipe is measured next to every backend's downloads (so each
   * "÷ pipe" ratio compares two figures taken minutes apart at most), or only next to the
   * first backend's, with the others compared against those figures.
   */
  pipeEveryBackend: boolean;
  /**
   * The naive baseline holds every file in flight in memory (twice, while multer joins its
   * chunks); cells that would need more than this are skipped rather than run on a shared
   * machine.
   */
  naiveMemoryBudget: number;
  /** The file streamed into a fresh gateway for the memory target. */
  memoryProbeSize: number;
}

export const FULL_PLAN: BenchPlan = {
  mode: "full",
  backends: [...BACKENDS],
  sizes: [16 * KiB, MiB, 32 * MiB, 512 * MiB],
  concurrencies: [1, 16],
  rounds: 3,
  roundSeconds: 2,
  roundBytes: GiB,
  minSmallRequests: 50,
  downloads: true,
  pipeEveryBackend: true,
  naiveMemoryBudget: GiB,
  memoryProbeSize: 512 * MiB,
};

/**
 * A smoke run in under two minutes: one short round per cell, 8 MiB as the large size, a
 * 32 MiB memory probe (above the adapters' part sizes, so multipart paths run), and the
 * read-stream pipe measured once.
 */
export const QUICK_PLAN: BenchPlan = {
  ...FULL_PLAN,
  mode: "quick",
  sizes: [16 * KiB, MiB, 8 * MiB],
  rounds: 1,
  roundSeconds: 0.2,
  roundBytes: 64 * MiB,
  minSmallRequests: 20,
  pipeEveryBackend: false,
  naiveMemoryBudget: 128 * MiB,
  memoryProbeSize: 32 * MiB,
};

/** The largest size measured: the one the memory and large-file targets are judged at. */
export const largeSize = (plan: { sizes: readonly number[] }): number => Math.max(...plan.sizes);

/** How many rounds a cell runs, and what each round does. */
export function cellRounds(
  plan: BenchPlan,
  size: number,
  concurrency: number,
): { rounds: number; round: RoundPlan } {
  const byBytes = Math.ceil(plan.roundBytes / size);
  const round: RoundPlan = {
    concurrency,
    // Every slot sends at least one request; small bodies at least a few dozen for p99.
    minRequests: size < MiB ? Math.max(concurrency, plan.minSmallRequests) : concurrency,
    maxRequests: Math.max(concurrency, byBytes),
    maxSeconds: plan.roundSeconds,
  };
  // A round that moves half the budget or more is long enough to be steady on its own;
  // repeating 16 × 512 MiB would add minutes, not accuracy.
  const rounds = size * concurrency >= plan.roundBytes / 2 ? 1 : plan.rounds;
  return { rounds, round };
}
