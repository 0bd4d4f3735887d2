/** What every part of a run shares: its options, how cells are recorded, and small helpers. */
import { join } from "node:path";
import { scriptPath, startChild, type Child } from "./child-process.ts";
import type { GroupSpec } from "./groups.ts";
import type { LoadGeneratorChoice } from "./options.ts";
import type { BenchPlan } from "./plan.ts";
import type { CellResult, MemoryProbe, SystemKind } from "./results.ts";

export interface SuiteOptions {
  plan: BenchPlan;
  /** Scratch space: stored objects, the fs backend's folders, the download reference's files. */
  workDir: string;
  /** Every child's output, one file each. */
  logDir: string;
  /** When set, the gateway runs with --cpu-prof and writes its profiles here. */
  profileDir?: string;
  /** Extra environment for every gateway (tuning experiments). */
  gatewayEnv?: Record<string, string>;
  /** Another build of apps/gateway to measure. */
  gatewayDir?: string;
  /** Which groups run (`--cells`). */
  selects(group: GroupSpec): boolean;
  /** Only these systems, when set (`--systems`). */
  systems?: readonly SystemKind[];
  loadGenerator: LoadGeneratorChoice;
  /** Whether wrk is installed. */
  wrk: boolean;
  pin: boolean;
  onCell(cell: CellResult): void;
  onProbe(probe: MemoryProbe): void;
  log(message: string): void;
}

/** Empties a store and says what was in it. */
export type Purge = () => Promise<{ objects: number; bytes: number }>;

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
