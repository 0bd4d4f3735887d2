import type {
  Admission,
  AppliedMigration,
  ClaimOptions,
  ErasureClaim,
  ErasureJob,
  ErasureProgress,
  GrowOptions,
  LedgerRecord,
  LedgerStats,
  NewKey,
  NewRecord,
  Page,
  PageRequest,
  RecordResult,
  Reservation,
  ReserveInput,
  StoredKey,
  Usage,
} from "./types.ts";

/**
 * The record of every stored object, and the coordination state custody needs (quotas,
 * retention claims, erasure jobs, per-uid keys). Every method is async and rejects only with
 * a `LedgerError`. Times are the caller's clock (`now`), so tests can drive them.
 */
export interface Ledger {
  readonly kind: "sqlite" | "postgres";

  // --- records ---------------------------------------------------------------------------

  /**
   * Commits an upload: the record, the uid's usage, and the end of its reservation, in one
   * transaction. Refused (nothing written, the reservation dropped) while an erasure of the
   * uid runs or when one began after `uploadStartedAt`; the caller then removes the object.
   * A key recorded twice rejects with `Conflict`.
   */
  record(record: NewRecord, options: { uploadStartedAt: Date }): Promise<RecordResult>;
  get(key: string): Promise<LedgerRecord | undefined>;
  /** Removes a record (after its object is gone) and gives its bytes back to the uid. */
  remove(key: string): Promise<boolean>;
  /** A uid's records, oldest first (created at, then key); stable under inserts and removals. */
  listByUid(uid: string, page?: PageRequest): Promise<Page<LedgerRecord>>;
  /** The records of one message (at most 1000), by key. */
  listByMid(mid: string, options?: { uid?: string }): Promise<LedgerRecord[]>;
  /** O(1): maintained counters, never a scan of the uid's history. */
  usage(uid: string, now: Date): Promise<Usage>;
  /** Every record, by key (UTF-8 byte order, as storage backends list), for verify/migrate. */
  listAll(page?: PageRequest): Promise<Page<LedgerRecord>>;
  /** Points a record at another backend (after `migrate` copied and verified it). */
  setBackend(key: string, backend: string): Promise<boolean>;
  /** Counts every record (a full scan: for progress bars and status pages, not hot paths). */
  stats(): Promise<LedgerStats>;

  // --- quotas ----------------------------------------------------------------------------

  /**
   * Admits an upload in flight by reserving room for it under the uid's limits, atomically
   * with every other reservation of that uid (on PostgreSQL across gateways too).
   */
  reserve(input: ReserveInput): Promise<Admission>;
  /**
   * Raises (or renews, with the same size) a reservation as a file of unknown size streams.
   * `Conflict` when the key holds no reservation.
   */
  grow(key: string, bytes: number, options: GrowOptions): Promise<Admission>;
  /** Drops a reservation (an upload that failed or was refused). */
  release(key: string): Promise<boolean>;
  /** A uid's reservations, expired ones included: keys an upload may have written. */
  reservationsOf(uid: string): Promise<Reservation[]>;
  /** Reservations whose lease ran out before `before`: uploads whose process died. */
  expiredReservations(options: { before: Date; limit: number }): Promise<Reservation[]>;

  // --- retention -------------------------------------------------------------------------

  /**
   * Claims up to `limit` records whose `expiresAt` has passed and that no live claim holds,
   * marking them `deleting`. Concurrent claimers never get the same record; a claim whose
   * owner died is claimable again once its lease has run out. Then `remove(key)` each.
   */
  claimExpired(options: ClaimOptions): Promise<LedgerRecord[]>;

  // --- erasure jobs ----------------------------------------------------------------------

  /** Starts erasing a uid, or returns the erasure of that uid already running. */
  beginErasure(uid: string, now: Date): Promise<ErasureJob>;
  getErasure(id: string): Promise<ErasureJob | undefined>;
  /** The uid's most recent erasure, running or finished. */
  latestErasure(uid: string): Promise<ErasureJob | undefined>;
  advanceErasure(id: string, progress: ErasureProgress): Promise<ErasureJob>;
  /**
   * Marks the job finished and drops what the ledger still holds for the uid: reservations,
   * its key, and its usage counters once no record is left. Idempotent.
   */
  finishErasure(id: string, now: Date): Promise<ErasureJob>;
  /**
   * Takes, renews or gives back the lease on a running job, so that one gateway runs it at a
   * time: granted when no other runner holds a live lease. Undefined when one does, or the
   * job is finished or unknown. A lease whose runner died runs out after `leaseMs`; a runner
   * that stops gives it back at once with `leaseMs: 0`.
   */
  claimErasure(id: string, claim: ErasureClaim): Promise<ErasureJob | undefined>;
  /** Running jobs, oldest first: a restarted gateway resumes them. */
  unfinishedErasures(): Promise<ErasureJob[]>;
  /** Deletes finished jobs that ended before the date; resolves with how many. */
  forgetErasures(finishedBefore: Date): Promise<number>;

  // --- encryption keys -------------------------------------------------------------------

  /** The uid's wrapped key; `null` for the shared key of uploads without a uid. */
  getKey(uid: string | null): Promise<StoredKey | undefined>;
  /** Stores the key unless one exists; resolves with the one stored (racers agree). */
  putKeyIfAbsent(uid: string | null, key: NewKey): Promise<StoredKey>;
  /** Destroys a uid's key (crypto-shredding). */
  deleteKey(uid: string): Promise<boolean>;
  /** Every key, shared key first, then by uid: for rotation. */
  listKeys(page?: PageRequest): Promise<Page<StoredKey>>;
  /** Replaces the wrapping only if the key is still wrapped by `expectedMasterKeyId`. */
  rewrapKey(
    uid: string | null,
    expectedMasterKeyId: string,
    next: { wrapped: Uint8Array; masterKeyId: string },
  ): Promise<boolean>;

  // --- lifecycle -------------------------------------------------------------------------

  /** The schema migrations applied to this database, oldest first. */
  migrations(): Promise<AppliedMigration[]>;
  /** Resolves while the database answers; backs /readyz. */
  check(): Promise<void>;
  close(): Promise<void>;
}
