import type { BackendName } from "./backend.ts";
import type { MachineInfo } from "./machine.ts";

/**
 * The systems compared. `gateway`, `direct` and `naive` run on a storage backend, and on fs
 * also `unsyncedGateway` (the gateway with FS_DURABLE=false, as the plain busboy server
 * writes: no fsync); the upload references (`drain`, `busboy`, `durableBusboy`,
 * `adapterBusboy`, `durableAdapterBusboy`) are backend-independent. `pipe` is measured next
 * to each backend's downloads and carries that backend's name.
 */
export type SystemKind =
  | "gateway"
  | "unsyncedGateway"
  | "direct"
  | "naive"
  | "busboy"
  | "durableBusboy"
  | "adapterBusboy"
  | "durableAdapterBusboy"
  | "drain"
  | "pipe";

/** Whether a system is (a configuration of) the gateway under test. */
export const isGatewaySystem = (system: SystemKind): boolean =>
  system === "gateway" || system === "unsyncedGateway";
export type Operation = "upload" | "download" | "range";

export const SYSTEM_LABELS: Record<SystemKind, string> = {
  gateway: "mediagate gateway",
  unsyncedGateway: "mediagate gateway, FS_DURABLE=false",
  direct: "direct SDK",
  naive: "Express + multer memoryStorage",
  busboy: "bare node:http + busboy → disk",
  durableBusboy: "bare busboy → disk, fsynced",
  adapterBusboy: "bare busboy → fs adapter",
  durableAdapterBusboy: "bare busboy → fs adapter, durable",
  drain: "raw body drain",
  pipe: "fs.createReadStream pipe",
};

export interface CellId {
  system: SystemKind;
  backend?: BackendName;
  operation: Operation;
  size: number;
  concurrency: number;
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
  p50Ms?: number;
  p99Ms?: number;
  /** Peak resident set of the process under test during the cell, measured from outside. */
  peakRssBytes?: number;
  /** Average CPU cores other work on the machine used during the cell (not the benchmark's). */
  foreignCores?: number;
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
  cells: CellResult[];
  probes: MemoryProbe[];
  /** Backends that could not be measured at all, and why. */
  problems: string[];
  /** Extra environment the gateways ran with (`--gateway-env`); empty for the defaults. */
  gatewayEnv: Record<string, string>;
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

/**
 * The read-stream pipe cell a download cell is compared with: the one measured next to the
 * same backend, or (a run that measured the pipe only once) the one there is.
 */
export function pipeCellFor(cells: readonly CellResult[], id: CellId): CellResult | undefined {
  const pipes = cells.filter((c) => sameCell(c, { ...id, system: "pipe", backend: c.backend }));
  return pipes.find((c) => c.backend === id.backend) ?? pipes[0];
}
