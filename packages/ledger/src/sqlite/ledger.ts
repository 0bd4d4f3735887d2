import { once } from "node:events";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { LedgerError } from "../errors.ts";
import { OpsLedger } from "../facade.ts";
import type { AsyncOps, OpName } from "../ops.ts";
import type { FromWorker, ToWorker, WireError, WorkerConfig } from "./protocol.ts";

export interface SqliteLedgerOptions {
  /** The database file; created with its folder if missing. */
  path: string;
  /** fsync every commit (synchronous=FULL); otherwise NORMAL. Default true. */
  durable?: boolean;
  /** How long a write waits for another process holding the file's write lock (default 5 s). */
  busyTimeoutMs?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: LedgerError): void;
}

// The worker is TypeScript when this file is (tests, `--conditions=source`), else compiled.
const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js",
  import.meta.url,
);

const toError = (e: WireError) =>
  new LedgerError(e.code, e.message, {
    operation: e.operation,
    cause: Object.assign(new Error(e.cause.message), e.cause),
  });

/**
 * The ledger in a SQLite file (node:sqlite), run in a worker thread with group commit. On
 * the caller's thread a request costs one postMessage each way; the database work, and the
 * fsync, happen on the worker. A worker that dies fails its requests with Unavailable and
 * is started again by the next request.
 */
export class SqliteLedger extends OpsLedger {
  readonly kind = "sqlite" as const;
  readonly path: string;
  protected readonly ops: AsyncOps;
  private readonly config: WorkerConfig;
  private worker: Promise<Worker> | undefined;
  /** The worker `worker` resolves to, for synchronous bookkeeping. */
  private current: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private outbox: [number, OpName, unknown[]][] = [];
  private nextId = 1;
  private closed = false;

  private constructor(config: WorkerConfig) {
    super();
    this.config = config;
    this.path = config.path;
    const methods: Partial<Record<OpName, (...args: unknown[]) => Promise<unknown>>> = {};
    this.ops = new Proxy({} as AsyncOps, {
      get: (_, op: OpName) => (methods[op] ??= (...args: unknown[]) => this.call(op, args)),
    });
  }

  /** Opens the file, applies migrations, and resolves once the worker is ready. */
  static async open(options: SqliteLedgerOptions): Promise<SqliteLedger> {
    if (typeof options?.path !== "string" || options.path.length === 0) {
      throw new LedgerError("InvalidArgument", "SQLite ledger: path must be a file path.", {
        operation: "open",
      });
    }
    const ledger = new SqliteLedger({
      path: options.path === ":memory:" ? options.path : resolve(options.path),
      durable: options.durable ?? true,
      busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
    });
    await ledger.started();
    return ledger;
  }

  async check(): Promise<void> {
    await this.call("check", []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const starting = this.worker;
    this.worker = undefined;
    const worker = await starting?.catch(() => undefined);
    if (!worker) {
      this.failOutbox(unavailable("close", new Error("the ledger is closed")));
      return;
    }
    this.flush(worker);
    worker.ref();
    const exited = once(worker, "exit");
    worker.postMessage({ t: "close" } satisfies ToWorker);
    await exited;
  }

  private started(): Promise<Worker> {
    this.worker ??= this.spawn();
    return this.worker;
  }

  private spawn(): Promise<Worker> {
    const worker = new Worker(WORKER_URL, { workerData: this.config });
    this.current = worker;
    const ready = new Promise<Worker>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.t === "ready") {
          if (this.pending.size === 0) worker.unref();
          resolve(worker);
        } else if (message.t === "failed") reject(toError(message.error));
        else if (message.t === "results") this.settle(message.results);
      };
      worker.on("message", onMessage);
      worker.once("error", (err) => reject(unavailable("worker", err)));
      worker.once("exit", (code) => {
        reject(unavailable("worker", new Error(`the ledger worker exited (${code})`)));
        this.lost(worker);
      });
    });
    // An unhandled rejection here would crash the process; callers see it through started().
    ready.catch(() => undefined);
    return ready;
  }

  /** The worker is gone: fail what it held; the next request starts another. */
  private lost(worker: Worker): void {
    if (this.current === worker) {
      this.current = undefined;
      this.worker = undefined;
    }
    const err = unavailable("worker", new Error("the ledger worker stopped"));
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(err);
    }
  }

  private call(op: OpName, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(unavailable(op, new Error("the ledger is closed")));
    const id = this.nextId++;
    const promise = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    this.outbox.push([id, op, args]);
    if (this.outbox.length === 1) {
      // Requests made in the same tick travel in one message.
      queueMicrotask(() => {
        // close() sends what is queued to the worker it stops (or fails it when none runs).
        if (this.outbox.length === 0 || this.closed) return;
        this.started().then(
          (worker) => this.flush(worker),
          (err: LedgerError) => this.failOutbox(err),
        );
      });
    }
    return promise;
  }

  private flush(worker: Worker): void {
    if (this.outbox.length === 0) return;
    const requests = this.outbox;
    this.outbox = [];
    // Keep the process alive only while answers are owed.
    worker.ref();
    worker.postMessage({ t: "batch", requests } satisfies ToWorker);
  }

  private failOutbox(err: LedgerError): void {
    for (const [id] of this.outbox.splice(0)) {
      this.pending.get(id)?.reject(err);
      this.pending.delete(id);
    }
  }

  private settle(results: [number, boolean, unknown][]): void {
    for (const [id, ok, value] of results) {
      const pending = this.pending.get(id);
      if (!pending) continue;
      this.pending.delete(id);
      if (ok) pending.resolve(value);
      else pending.reject(toError(value as WireError));
    }
    if (this.pending.size === 0) this.current?.unref();
  }
}

function unavailable(operation: string, cause: unknown): LedgerError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LedgerError("Unavailable", `${operation}: ${reason}`, { operation, cause });
}
