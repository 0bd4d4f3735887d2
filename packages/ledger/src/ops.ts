import type { LimitArgs, RecordRow } from "./validate.ts";
import type {
  Admission,
  AppliedMigration,
  ErasureJob,
  LedgerRecord,
  LedgerStats,
  Page,
  Reservation,
  StoredKey,
  Usage,
} from "./types.ts";

/**
 * What each implementation provides: the ledger's operations with arguments already
 * validated and normalised (times in epoch ms), results structured-cloneable (they cross
 * a thread boundary in SQLite's case). `OpsLedger` turns them into the public API.
 */
export interface LedgerOps {
  record(row: RecordRow, startedAt: number, day: number): RecordOutcome;
  get(key: string): LedgerRecord | undefined;
  remove(key: string): boolean;
  listByUid(uid: string, after: [number, string] | undefined, limit: number): Page<LedgerRecord>;
  listByMid(mid: string, uid: string | null): LedgerRecord[];
  usage(uid: string, now: number): Usage;
  listAll(after: string | undefined, limit: number): Page<LedgerRecord>;
  setBackend(key: string, backend: string): boolean;
  stats(): LedgerStats;
  claimExpired(now: number, limit: number, owner: string, until: number): LedgerRecord[];
  reserve(args: AdmitArgs): Admission;
  grow(args: Omit<AdmitArgs, "uid">): Admission | { status: "missing" };
  release(key: string): boolean;
  reservationsOf(uid: string): Reservation[];
  expiredReservations(before: number, limit: number): Reservation[];
  beginErasure(uid: string, id: string, now: number): ErasureJob;
  getErasure(id: string): ErasureJob | undefined;
  latestErasure(uid: string): ErasureJob | undefined;
  advanceErasure(id: string, cursor: string | null, removed: number): ErasureJob | undefined;
  finishErasure(id: string, now: number): ErasureJob | undefined;
  claimErasure(id: string, runner: string, now: number, until: number): ErasureJob | undefined;
  unfinishedErasures(): ErasureJob[];
  forgetErasures(before: number): number;
  getKey(owner: string): StoredKey | undefined;
  putKeyIfAbsent(
    owner: string,
    wrapped: Uint8Array,
    masterKeyId: string,
    createdAt: number,
  ): StoredKey;
  deleteKey(owner: string): boolean;
  listKeys(after: string | undefined, limit: number): Page<StoredKey>;
  rewrapKey(owner: string, expected: string, wrapped: Uint8Array, masterKeyId: string): boolean;
  migrations(): AppliedMigration[];
  check(): null;
}

export type OpName = keyof LedgerOps;

export type RecordOutcome = { status: "recorded" } | { status: "refused"; erasureId: string };

export interface AdmitArgs extends LimitArgs {
  uid: string;
  key: string;
  bytes: number;
  now: number;
  leaseUntil: number;
  day: number;
}

/** The same operations, as the async calls the public API makes. */
export type AsyncOps = {
  [K in OpName]: (...args: Parameters<LedgerOps[K]>) => Promise<ReturnType<LedgerOps[K]>>;
};

/**
 * Operations that write nothing: SQLite runs a batch of only these in a deferred
 * transaction; PostgreSQL may retry them once on a connection that died under them.
 */
export const READ_ONLY: ReadonlySet<OpName> = new Set<OpName>([
  "get",
  "listByUid",
  "listByMid",
  "usage",
  "listAll",
  "stats",
  "reservationsOf",
  "expiredReservations",
  "getErasure",
  "latestErasure",
  "unfinishedErasures",
  "getKey",
  "listKeys",
  "migrations",
  "check",
]);
