import type { BackendName } from "./backend.ts";
import type { MachineInfo } from "./machine.ts";
import { median } from "./stats.ts";
import { GiB, MiB } from "./units.ts";

/**
 * The systems compared. Every cell is measured on one backend: the gateway (and on fs also
 * `unsyncedGateway`, FS_DURABLE=false), the direct SDK and the naive baseline on each; the
 * references that write to a local disk (busboy in four forms, multer `diskStorage`, the
 * drain, the read-stream pipe) on fs, `multerS3` on s3.
 */
export type SystemKind =
  | "gateway"
  | "unsyncedGateway"
  | "direct"
  | "naive"
  | "multerDisk"
  | "multerS3"
  | "busboy"
  | "durableBusboy"
  | "adapterBusboy"
  | "durableAdapterBusboy"
  | "drain"
  | "pipe";

/** Whether a system is (a configuration of) the gateway under test. */
export const isGatewaySystem = (system: SystemKind): boolean =>
  system === "gateway" || system === "unsyncedGateway";

/** `mix` is the chat mix: uploads of a seeded sequence of sizes (its cells have size 0). */
export type Operation = "upload" | "download" | "range" | "mix";

/** What sent the requests: the bench's Node client, wrk, or the system itself (direct SDK). */
export type LoadGenerator = "node" | "wrk" | "in-process";

export const SYSTEM_LABELS: Record<SystemKind, string> = {
  gateway: "mediagate gateway",
  unsyncedGateway: "mediagate gateway, FS_DURABLE=false",
  direct: "direct SDK",
  naive: "Express + multer memoryStorage",
  multerDisk: "Express + multer diskStorage",
  multerS3: "Express + multer-s3",
  busboy: "bare node:http + busboy → disk",
  durableBusboy: "bare busboy → disk, fsynced",
  adapterBusboy: "bare busboy → fs adapter",
  durableAdapterBusboy: "bare busboy → fs adapter, durable",
  drain: "raw body drain",
  pipe: "fs.createReadStream pipe",
};

export interface CellId {
  system: SystemKind;
  backend: BackendName;
  operation: Operation;
  /** File size; 0 for the chat mix. */
  size: number;
  concurrency: number;
}

/** What one round of one cell measured. */
export interface RoundFigures {
  requests: number;
  /** Payload bytes of completed requests. */
  bytes: number;
  wallMs: number;
  /** CPU seconds of the process under test during the round (all its threads). */
  cpuSeconds?: number;
  /** CPU seconds of the load generator (the bench's own process, or wrk). */
  clientCpuSeconds?: number;
  /** CPU seconds of the storage server (and anything it started) during the round. */
  storageCpuSeconds?: number;
  /** Cores other work on the machine used during the round. */
  foreignCores?: number;
}

export interface CellResult extends CellId {
  status: "ok" | "failed" | "skipped";
  /** Why a cell failed or was skipped. */
  note?: string;
  rounds: number;
  requests: number;
  /** Median over rounds of payload MiB per second of wall time. */
  mibPerSec?: number;
  /** Median over rounds of completed requests per second. */
  requestsPerSec?: number;
  /** Every round's figures, in the order measured: the medians and spreads come from here. */
  perRound?: RoundFigures[];
  /** Latency percentiles pooled over every request (wrk: the median of its rounds' own). */
  p50Ms?: number;
  p99Ms?: number;
  /** From the last request byte sent to the answer's first byte (Node client only). */
  answerP50Ms?: number;
  answerP99Ms?: number;
  answerMaxMs?: number;
  /** Peak resident set of the process under test during the cell, measured from outside. */
  peakRssBytes?: number;
  /** Average CPU cores other work on the machine used during the cell (not the benchmark's). */
  foreignCores?: number;
  loadGenerator?: LoadGenerator;
  /** Whether the load generator and the process under test ran pinned to separate cores. */
  pinned?: boolean;
}

/** Per-round figures a cell can be judged or shown by. */
export type Metric =
  | "mibPerSec"
  | "requestsPerSec"
  | "cpuMsPerRequest"
  | "cpuSecondsPerGiB"
  | "clientCpuMsPerRequest"
  | "storageCpuMsPerRequest";

function roundValue(round: RoundFigures, metric: Metric): number | undefined {
  const seconds = round.wallMs / 1000;
  const per = (cpu: number | undefined) =>
    cpu === undefined || round.requests === 0 ? undefined : (1000 * cpu) / round.requests;
  switch (metric) {
    case "mibPerSec":
      return seconds > 0 ? round.bytes / MiB / seconds : undefined;
    case "requestsPerSec":
      return seconds > 0 ? round.requests / seconds : undefined;
    case "cpuMsPerRequest":
      return per(round.cpuSeconds);
    case "cpuSecondsPerGiB":
      return round.cpuSeconds === undefined || round.bytes === 0
        ? undefined
        : round.cpuSeconds / (round.bytes / GiB);
    case "clientCpuMsPerRequest":
      return per(round.clientCpuSeconds);
    case "storageCpuMsPerRequest":
      return per(round.storageCpuSeconds);
  }
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median and range of a metric over a cell's rounds; undefined if not measured. */
export function spreadOf(cell: CellResult | undefined, metric: Metric): Spread | undefined {
  if (cell?.status !== "ok") return undefined;
  const values = (cell.perRound ?? [])
    .map((r) => roundValue(r, metric))
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) {
    // Results saved before per-round figures were kept carry the medians only.
    const single = metric === "mibPerSec" || metric === "requestsPerSec" ? cell[metric] : undefined;
    return single === undefined ? undefined : { median: single, min: single, max: single };
  }
  return {
    median: median(values) as number,
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** A metric of each round, in order (for ratios of rounds measured side by side). */
export function roundSeries(cell: CellResult | undefined, metric: Metric): number[] {
  return (cell?.perRound ?? []).map((r) => roundValue(r, metric) ?? Number.NaN);
}

/**
 * The memory target's measurement: one large upload into a freshly started gateway, before
 * any other traffic, with the gateway's resident set read before and during it.
 */
export interface MemoryProbe {
  backend: BackendName;
  size: number;
  status: "ok" | "failed";
  note?: string;
  /** After start-up and the readiness probe, before the upload. */
  idleRssBytes?: number;
  /** Highest resident set while the file streamed. */
  peakRssBytes?: number;
  mibPerSec?: number;
}

export interface BenchResults {
  mode: "full" | "quick";
  machine: MachineInfo;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /**
   * Other work on the machine: the 1-minute load average before the run started (the
   * benchmark's own processes raise it once running), and the CPU cores that processes
   * outside the benchmark used on average over the whole run.
   */
  load: { start: number; foreignCores: number };
  sizes: number[];
  concurrencies: number[];
  backends: BackendName[];
  /** Rounds per cell, the chat mix's make-up, pinning, the cell filter: how the run was set. */
  settings?: RunSettings;
  cells: CellResult[];
  probes: MemoryProbe[];
  /** Backends that could not be measured at all, and why. */
  problems: string[];
  /** Extra environment the gateways ran with (`--gateway-env`); empty for the defaults. */
  gatewayEnv: Record<string, string>;
}

export interface RunSettings {
  rounds: number;
  mix?: { uploads: number; concurrency: number; seed: number };
  /** Whether wrk ran pinned to one core and the server under test to the other. */
  pin: boolean;
  loadGenerator: string;
  cells?: string;
  systems?: string[];
  profiled: boolean;
  /** The gateway build measured, when not the workspace's own (`--gateway-dir`). */
  gatewayDir?: string;
}

export function sameCell(a: CellId, b: CellId): boolean {
  return (
    a.system === b.system &&
    a.backend === b.backend &&
    a.operation === b.operation &&
    a.size === b.size &&
    a.concurrency === b.concurrency
  );
}

export function findCell(cells: readonly CellResult[], id: CellId): CellResult | undefined {
  return cells.find((cell) => sameCell(cell, id));
}
