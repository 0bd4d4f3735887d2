/**
 * The SQLite ledger's thread. node:sqlite is synchronous, and a commit with
 * synchronous=FULL waits for fsync: run here, it never stalls the gateway's event loop.
 * Requests that arrive while a transaction is in flight queue up and go into the next one
 * together (group commit), each inside its own savepoint so one failure spoils no other.
 */
import { parentPort, workerData } from "node:worker_threads";
import { dayOf } from "../validate.ts";
import { openDatabase, wireError, type Db } from "./db.ts";
import * as custody from "./ops-custody.ts";
import * as quota from "./ops-quota.ts";
import * as records from "./ops-records.ts";
import { READ_ONLY, type LedgerOps, type OpName } from "../ops.ts";
import type { FromWorker, ToWorker, WorkerConfig } from "./protocol.ts";

type Impl = {
  [K in OpName]: (db: Db, ...args: Parameters<LedgerOps[K]>) => ReturnType<LedgerOps[K]>;
};

const ops: Impl = {
  record: records.record,
  get: records.get,
  remove: records.remove,
  listByUid: records.listByUid,
  listByMid: records.listByMid,
  usage: (db, uid, now) => quota.usage(db, uid, now, dayOf(now)),
  listAll: records.listAll,
  setBackend: records.setBackend,
  stats: records.stats,
  claimExpired: records.claimExpired,
  reserve: quota.reserve,
  grow: quota.grow,
  release: quota.release,
  reservationsOf: quota.reservationsOf,
  expiredReservations: quota.expiredReservations,
  beginErasure: custody.beginErasure,
  getErasure: custody.getErasure,
  latestErasure: custody.latestErasure,
  advanceErasure: custody.advanceErasure,
  finishErasure: custody.finishErasure,
  claimErasure: custody.claimErasure,
  unfinishedErasures: custody.unfinishedErasures,
  forgetErasures: custody.forgetErasures,
  getKey: custody.getKey,
  putKeyIfAbsent: custody.putKeyIfAbsent,
  deleteKey: custody.deleteKey,
  listKeys: custody.listKeys,
  rewrapKey: custody.rewrapKey,
  migrations: custody.migrations,
  check: (db) => {
    db.get("SELECT 1");
    return null;
  },
};

/** Large enough to amortise an fsync, small enough to keep each answer prompt. */
const MAX_BATCH = 256;

type Request = [id: number, op: OpName, args: unknown[]];
type Result = [id: number, ok: boolean, value: unknown];

if (!parentPort) throw new Error("The SQLite ledger worker must run in a worker thread.");
const port = parentPort;
const send = (message: FromWorker) => port.postMessage(message);

function execute(db: Db, [id, op, args]: Request, savepoint: boolean): Result {
  const fn = ops[op] as (db: Db, ...args: unknown[]) => unknown;
  if (!savepoint) {
    try {
      return [id, true, fn(db, ...args)];
    } catch (err) {
      return [id, false, wireError(err, op)];
    }
  }
  db.exec("SAVEPOINT op");
  try {
    const value = fn(db, ...args);
    db.exec("RELEASE op");
    return [id, true, value];
  } catch (err) {
    try {
      db.exec("ROLLBACK TO op");
      db.exec("RELEASE op");
    } catch {
      // SQLite already rolled the whole transaction back (a full disk, an I/O error).
      throw new BatchLost(err, op);
    }
    return [id, false, wireError(err, op)];
  }
}

/** The transaction is gone: every request of the batch fails with the original error. */
class BatchLost extends Error {
  readonly original: unknown;
  readonly op: OpName;
  constructor(original: unknown, op: OpName) {
    super("batch lost");
    this.original = original;
    this.op = op;
  }
}

function runBatch(db: Db, batch: Request[]): Result[] {
  const writes = batch.some(([, op]) => !READ_ONLY.has(op));
  try {
    db.exec(writes ? "BEGIN IMMEDIATE" : "BEGIN");
  } catch (err) {
    return batch.map(([id, op]) => [id, false, wireError(err, op)]);
  }
  try {
    const results = batch.map((request) => execute(db, request, writes));
    db.exec("COMMIT");
    return results;
  } catch (caught) {
    const err = caught instanceof BatchLost ? caught.original : caught;
    try {
      db.exec("ROLLBACK");
    } catch {
      // Already rolled back by SQLite.
    }
    // Nothing of this batch is durable: every request fails, successful ones included.
    return batch.map(([id, op]) => [id, false, wireError(err, op)]);
  }
}

function main(): void {
  let db: Db;
  try {
    db = openDatabase(workerData as WorkerConfig);
  } catch (err) {
    send({ t: "failed", error: wireError(err, "open") });
    return;
  }
  const queue: Request[] = [];
  let scheduled = false;
  let closing = false;

  const flush = () => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      send({ t: "results", results: runBatch(db, batch) });
      // Let requests that arrived meanwhile join the next batch, not wait behind this loop.
      if (queue.length > 0 && !closing) {
        scheduled = true;
        setImmediate(flush);
        return;
      }
    }
    if (closing) {
      db.raw.close();
      send({ t: "closed" });
      port.close();
    }
  };

  port.on("message", (message: ToWorker) => {
    if (message.t === "batch") queue.push(...message.requests);
    else closing = true;
    if (!scheduled) {
      scheduled = true;
      // setImmediate runs after every message already delivered: they share a transaction.
      setImmediate(flush);
    }
  });
  send({ t: "ready" });
}

main();
