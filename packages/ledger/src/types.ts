/** mesibo's `source` codes; other integers are kept as sent. */
export const SOURCES = {
  message: 0,
  profile: 1,
  group: 2,
  thumbnail: 3,
  unknown: 99,
  custom: 100,
} as const;

/** `stored`: live. `deleting`: claimed by a retention sweep; the object is being removed. */
export type RecordState = "stored" | "deleting";

/** What the caller knows about an object it has just stored. */
export interface NewRecord {
  key: string;
  /** Which storage backend holds it: "fs", "s3", "gcs", "azure"… */
  backend: string;
  uid: string | null;
  mid: string | null;
  source: number;
  /** The file name the client sent ("" when none). */
  name: string;
  size: number;
  /** Lowercase hex SHA-256 of the stored bytes. */
  sha256: string;
  contentType: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** A small string map: what was stripped, encryption parameters… (≤ 32 entries). */
  attributes?: Record<string, string>;
}

export interface LedgerRecord extends Required<NewRecord> {
  state: RecordState;
}

export interface PageRequest {
  /** The `cursor` of the previous page; absent or null for the first. */
  cursor?: string | null;
  /** Items per page, 1–1000 (default 100). */
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** Pass back for the next page; null once there is none. */
  cursor: string | null;
}

export type RecordResult =
  | { status: "recorded"; record: LedgerRecord }
  /** An erasure of the uid is running, or began after the upload started: store nothing. */
  | { status: "refused"; reason: "erasure"; erasureId: string };

export interface Usage {
  /** Records held now. */
  files: number;
  bytes: number;
  /** Uploads committed on the UTC day of `now` (removals do not give them back). */
  today: { files: number; bytes: number };
  /** Reservations in flight whose lease has not run out. */
  reserved: { files: number; bytes: number };
}

export interface QuotaLimits {
  filesPerDay?: number;
  bytesPerDay?: number;
  bytesTotal?: number;
}

export type QuotaLimitName = keyof QuotaLimits;

export interface ReserveInput {
  uid: string;
  /** The object key the upload will be stored under. */
  key: string;
  /** Bytes to reserve: the size when known, else 0 (then `grow` as it streams). */
  bytes: number;
  limits: QuotaLimits;
  now: Date;
  /** How long the reservation counts without a `grow` (default 15 minutes). */
  leaseMs?: number;
}

export type Admission =
  | { status: "admitted"; leaseUntil: Date }
  | {
      status: "exceeded";
      limit: QuotaLimitName;
      /** The configured limit. */
      max: number;
      /** What counts against it without this upload: committed plus other reservations. */
      used: number;
      /** What this upload asked for (1 for filesPerDay). */
      requested: number;
    }
  /** An erasure of the uid is running. */
  | { status: "erasing"; erasureId: string };

export interface GrowOptions {
  limits: QuotaLimits;
  now: Date;
  leaseMs?: number;
}

export interface Reservation {
  key: string;
  uid: string;
  bytes: number;
  createdAt: Date;
  leaseUntil: Date;
}

export interface ClaimOptions {
  now: Date;
  /** At most this many records (1–1000). */
  limit: number;
  /** Who claims (a gateway instance id); recorded for diagnosis. */
  owner: string;
  /** How long the claim holds before another sweeper may take the record. */
  leaseMs: number;
}

/** Who runs an erasure job (`Ledger.claimErasure`). */
export interface ErasureClaim {
  now: Date;
  /** The claiming gateway process; one runner holds a job at a time. */
  runner: string;
  /** How long the claim holds unless renewed, up to a day; 0 gives the job back. */
  leaseMs: number;
}

export type ErasureState = "running" | "finished";

export interface ErasureJob {
  id: string;
  uid: string;
  state: ErasureState;
  /** Records the uid had when the erasure began. */
  total: number;
  /** What the eraser reported removed so far. */
  done: number;
  /** Where the eraser got to (a `listByUid` cursor), for a resume. */
  cursor: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

export interface ErasureProgress {
  cursor: string | null;
  /** Removed since the last report (added to `done`). */
  removed: number;
}

/** A data-encryption key wrapped by a master key. `uid: null` is the shared key. */
export interface StoredKey {
  uid: string | null;
  wrapped: Uint8Array;
  masterKeyId: string;
  createdAt: Date;
}

export interface NewKey {
  wrapped: Uint8Array;
  masterKeyId: string;
  createdAt: Date;
}

export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: Date;
}

export interface LedgerStats {
  records: number;
  bytes: number;
}
