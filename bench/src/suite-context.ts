/** What every part of a run shares: its options, how cells are recorded, and small helpers. */
import { join } from "node:path";
import type { BenchPlan } from "./plan.ts";
import { scriptPath, startChild, type Child } from "./child-process.ts";
import type { RoundPlan } from "./load-loop.ts";
import type { CellResult, MemoryProbe } from "./results.ts";
import { MiB } from "./units.ts";

export interface SuiteOptions {
  plan: BenchPlan;
  /** Scratch space: stored objects, the fs backend's folder, the download reference's files. */
  workDir: string;
  /** Every child's output, one file each. */
  logDir: string;
  /** When set, the gateway runs with --cpu-prof and writes its profiles here. */
  profileDir?: string;
  /** Extra environment for every gateway (tuning experiments). */
  gatewayEnv?: Record<string, string>;
  onCell(cell: CellResult): void;
  onProbe(probe: MemoryProbe): void;
  log(message: string): void;
}

/** Empties the backend's bucket and says what was in it. */
export type Purge = () => Promise<{ objects: number; bytes: number }>;

/** Where results go as they are measured. */
export type RecordCell = (cell: CellResult) => void;

/** A warm-up round: one small request per slot, untimed. */
export const warmupPlan = (concurrency: number): RoundPlan => ({
  concurrency,
  minRequests: concurrency,
  maxRequests: concurrency,
  maxSeconds: 0,
});
export const warmupSize = (size: number): number => Math.min(size, MiB);

export function* grid(plan: BenchPlan): Generator<{ size: number; concurrency: number }> {
  for (const size of plan.sizes) {
    for (const concurrency of plan.concurrencies) yield { size, concurrency };
  }
}

export function logFile(options: SuiteOptions, name: string): string {
  return join(options.logDir, `${name}.log`);
}

export async function startScript<Info extends object>(
  options: SuiteOptions,
  name: string,
  script: string,
  env: Record<string, string> = {},
): Promise<Child<Info & { port?: number }>> {
  return startChild<Info & { port?: number }>({
    name,
    script: scriptPath(`./servers/${script}`, import.meta.url),
    env,
    logFile: logFile(options, name),
    readiness: { kind: "ipc" },
    readyTimeoutMs: 60_000,
  });
}
