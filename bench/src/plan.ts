import { BACKENDS, type BackendName } from "./backend.ts";
import type { RoundPlan } from "./load-loop.ts";
import { GiB, KiB, MiB } from "./units.ts";

/** What one `npm run bench` invocation measures, and how hard. */
export interface BenchPlan {
  mode: "full" | "quick";
  backends: BackendName[];
  sizes: number[];
  concurrencies: number[];
  /** Rounds per cell, alternating between the systems of a comparison; judged by the median. */
  rounds: number;
  /** A round of small bodies runs this long (wrk: rounded to whole seconds, at least 1). */
  roundSeconds: number;
  /** A round stops issuing requests after this many payload bytes (but always issues one per slot). */
  roundBytes: number;
  /** Fewest requests a round of bodies under 1 MiB makes, so p99 means something. */
  minSmallRequests: number;
  downloads: boolean;
  /**
   * The naive baseline holds every file in flight in memory (twice, while multer joins its
   * chunks); cells that would need more than this are skipped rather than run on a shared
   * machine.
   */
  naiveMemoryBudget: number;
  /**
   * The informational references (drain, busboy → fs adapter, multer diskStorage, multer-s3)
   * are skipped where one round moves more than this: three rounds of sixteen 512 MiB files
   * each would add most of an hour and judge nothing.
   */
  extraReferenceRoundBytes: number;
  /** The file streamed into a fresh gateway for the memory target. */
  memoryProbeSize: number;
  /** The chat mix: this many uploads per round from a seeded size sequence, over `concurrency` connections. */
  mix: { uploads: number; concurrency: number; seed: number };
  /** Upload bodies below this size are sent by wrk (if installed), larger ones by the Node client. */
  wrkBelow: number;
  /** Warm wrk's systems up with a second of wrk at full rate (else a few Node requests). */
  wrkWarmup: boolean;
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
  naiveMemoryBudget: GiB,
  extraReferenceRoundBytes: 2 * GiB,
  memoryProbeSize: 512 * MiB,
  mix: { uploads: 1000, concurrency: 64, seed: 13 },
  wrkBelow: MiB,
  wrkWarmup: true,
};

/**
 * A smoke run: three short rounds per cell, 8 MiB as the large size, a 32 MiB memory probe
 * (above the adapters' part sizes, so multipart paths run), a chat mix of 100 uploads, and
 * short warm-ups.
 */
export const QUICK_PLAN: BenchPlan = {
  ...FULL_PLAN,
  mode: "quick",
  sizes: [16 * KiB, MiB, 8 * MiB],
  roundSeconds: 0.3,
  roundBytes: 32 * MiB,
  minSmallRequests: 20,
  naiveMemoryBudget: 128 * MiB,
  memoryProbeSize: 32 * MiB,
  mix: { uploads: 100, concurrency: 64, seed: 13 },
  wrkWarmup: false,
};

/** The largest size measured: the one the memory and large-file targets are judged at. */
export const largeSize = (plan: { sizes: readonly number[] }): number => Math.max(...plan.sizes);

/** What each round of a cell does. */
export function roundPlan(plan: BenchPlan, size: number, concurrency: number): RoundPlan {
  return {
    concurrency,
    // Every slot sends at least one request; small bodies at least a few dozen for p99.
    minRequests: size < MiB ? Math.max(concurrency, plan.minSmallRequests) : concurrency,
    maxRequests: Math.max(concurrency, Math.ceil(plan.roundBytes / size)),
    maxSeconds: plan.roundSeconds,
  };
}

/** A chat-mix round: the whole sequence, whatever it takes. */
export function mixRoundPlan(plan: BenchPlan): RoundPlan {
  const { uploads, concurrency } = plan.mix;
  return { concurrency, minRequests: uploads, maxRequests: uploads, maxSeconds: 0 };
}

/** A warm-up: a few untimed requests per slot (bodies of at most 1 MiB). */
export function warmupPlan(concurrency: number, size: number): RoundPlan {
  const count = size < MiB ? Math.max(3 * concurrency, 30) : concurrency;
  return { concurrency, minRequests: count, maxRequests: count, maxSeconds: 0 };
}

export const warmupSize = (size: number): number => Math.min(size, MiB);
