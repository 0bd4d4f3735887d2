import { ownerUid } from "./validate.ts";
import type { ErasureJob, LedgerRecord, RecordState, Reservation, StoredKey } from "./types.ts";

/** Rows as both databases return them (same column names; integers as numbers). */
export type Row = Record<string, unknown>;

const num = (v: unknown) => Number(v);
const date = (v: unknown) => new Date(Number(v));
const dateOrNull = (v: unknown) => (v === null || v === undefined ? null : date(v));
const strOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));

export const RECORD_COLUMNS =
  "key, backend, uid, mid, source, name, size, sha256, content_type, created_at, expires_at, state, attributes";

export function toRecord(row: Row): LedgerRecord {
  return {
    key: String(row.key),
    backend: String(row.backend),
    uid: strOrNull(row.uid),
    mid: strOrNull(row.mid),
    source: num(row.source),
    name: String(row.name),
    size: num(row.size),
    sha256: String(row.sha256),
    contentType: String(row.content_type),
    createdAt: date(row.created_at),
    expiresAt: dateOrNull(row.expires_at),
    state: row.state as RecordState,
    attributes: JSON.parse(String(row.attributes)) as Record<string, string>,
  };
}

export const ERASURE_COLUMNS = "id, uid, total, done, cursor, started_at, finished_at";

export function toErasure(row: Row): ErasureJob {
  const finishedAt = dateOrNull(row.finished_at);
  return {
    id: String(row.id),
    uid: String(row.uid),
    state: finishedAt === null ? "running" : "finished",
    total: num(row.total),
    done: num(row.done),
    cursor: strOrNull(row.cursor),
    startedAt: date(row.started_at),
    finishedAt,
  };
}

export const RESERVATION_COLUMNS = "key, uid, bytes, created_at, lease_until";

export function toReservation(row: Row): Reservation {
  return {
    key: String(row.key),
    uid: String(row.uid),
    bytes: num(row.bytes),
    createdAt: date(row.created_at),
    leaseUntil: date(row.lease_until),
  };
}

export const KEY_COLUMNS = "owner, wrapped, master_key_id, created_at";

export function toKey(row: Row): StoredKey {
  const wrapped = row.wrapped as Uint8Array;
  return {
    uid: ownerUid(String(row.owner)),
    // A copy as a plain Uint8Array, whatever the driver handed out.
    wrapped: new Uint8Array(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).slice(),
    masterKeyId: String(row.master_key_id),
    createdAt: date(row.created_at),
  };
}
