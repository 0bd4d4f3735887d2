import type { LedgerErrorCode } from "../errors.ts";
import type { OpName } from "../ops.ts";

export interface WorkerConfig {
  path: string;
  durable: boolean;
  busyTimeoutMs: number;
}

/** A failure as it crosses the thread boundary. */
export interface WireError {
  code: LedgerErrorCode;
  message: string;
  operation: string;
  cause: { message: string; errcode?: number; errstr?: string };
}

/** Caller → worker. One message may carry several requests. */
export type ToWorker =
  { t: "batch"; requests: [id: number, op: OpName, args: unknown[]][] } | { t: "close" };

/** Worker → caller. */
export type FromWorker =
  | { t: "ready" }
  | { t: "failed"; error: WireError }
  | { t: "results"; results: [id: number, ok: boolean, value: unknown][] }
  | { t: "closed" };
