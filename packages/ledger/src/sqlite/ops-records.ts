import { RECORD_COLUMNS, toRecord } from "../rows.ts";
import { encodeCursor } from "../validate.ts";
import type { LedgerRecord, Page } from "../types.ts";
import type { Db } from "./db.ts";
import type { RecordOutcome } from "../ops.ts";
import type { RecordRow } from "../validate.ts";

/** Records, usage and retention claims, run inside the worker's transaction. */

const OBJECTS = `SELECT ${RECORD_COLUMNS} FROM mg_objects`;

/** The erasure that overlapped an upload: running, or finished after the upload started. */
export function overlappingErasure(db: Db, uid: string, since: number): string | undefined {
  const row = db.get(
    `SELECT id FROM mg_erasures WHERE uid = ? AND (finished_at IS NULL OR finished_at > ?)
     ORDER BY started_at DESC LIMIT 1`,
    uid,
    since,
  );
  return row === undefined ? undefined : String(row.id);
}

export function record(db: Db, r: RecordRow, startedAt: number, day: number): RecordOutcome {
  if (r.uid !== null) {
    const erasureId = overlappingErasure(db, r.uid, startedAt);
    if (erasureId !== undefined) {
      db.run("DELETE FROM mg_reservations WHERE key = ?", r.key);
      return { status: "refused", erasureId };
    }
  }
  db.run(
    `INSERT INTO mg_objects (key, backend, uid, mid, source, name, size, sha256, content_type,
       created_at, expires_at, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    r.key,
    r.backend,
    r.uid,
    r.mid,
    r.source,
    r.name,
    r.size,
    r.sha256,
    r.content_type,
    r.created_at,
    r.expires_at,
    r.attributes,
  );
  db.run("DELETE FROM mg_reservations WHERE key = ?", r.key);
  if (r.uid !== null) {
    // SET expressions see the row as it was, as in PostgreSQL.
    db.run(
      `INSERT INTO mg_usage AS u (uid, files, bytes, day, day_files, day_bytes)
       VALUES (?1, 1, ?2, ?3, 1, ?2)
       ON CONFLICT (uid) DO UPDATE SET
         files = u.files + 1,
         bytes = u.bytes + ?2,
         day_files = CASE WHEN ?3 > u.day THEN 1 WHEN ?3 = u.day THEN u.day_files + 1
           ELSE u.day_files END,
         day_bytes = CASE WHEN ?3 > u.day THEN ?2 WHEN ?3 = u.day THEN u.day_bytes + ?2
           ELSE u.day_bytes END,
         day = max(u.day, ?3)`,
      r.uid,
      r.size,
      day,
    );
  }
  return { status: "recorded" };
}

export function get(db: Db, key: string): LedgerRecord | undefined {
  const row = db.get(`${OBJECTS} WHERE key = ?`, key);
  return row === undefined ? undefined : toRecord(row);
}

export function remove(db: Db, key: string): boolean {
  const gone = db.get("DELETE FROM mg_objects WHERE key = ? RETURNING uid, size", key);
  if (gone === undefined) return false;
  if (gone.uid !== null) {
    db.run(
      "UPDATE mg_usage SET files = files - 1, bytes = bytes - ? WHERE uid = ?",
      Number(gone.size),
      String(gone.uid),
    );
  }
  return true;
}

/** Fetches limit + 1 rows so the page knows whether another follows. */
function page<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, cursor: null };
  const items = rows.slice(0, limit);
  return { items, cursor: cursorOf(items[items.length - 1] as T) };
}

export function listByUid(
  db: Db,
  uid: string,
  after: [number, string] | undefined,
  limit: number,
): Page<LedgerRecord> {
  const rows = after
    ? db.all(
        `${OBJECTS} WHERE uid = ? AND (created_at, key) > (?, ?)
         ORDER BY created_at, key LIMIT ?`,
        uid,
        after[0],
        after[1],
        limit + 1,
      )
    : db.all(`${OBJECTS} WHERE uid = ? ORDER BY created_at, key LIMIT ?`, uid, limit + 1);
  return page(rows.map(toRecord), limit, (r) => encodeCursor([r.createdAt.getTime(), r.key]));
}

export function listByMid(db: Db, mid: string, uid: string | null): LedgerRecord[] {
  const rows =
    uid === null
      ? db.all(`${OBJECTS} WHERE mid = ? ORDER BY key LIMIT 1000`, mid)
      : db.all(`${OBJECTS} WHERE mid = ? AND uid = ? ORDER BY key LIMIT 1000`, mid, uid);
  return rows.map(toRecord);
}

export function listAll(db: Db, after: string | undefined, limit: number): Page<LedgerRecord> {
  const rows =
    after === undefined
      ? db.all(`${OBJECTS} ORDER BY key LIMIT ?`, limit + 1)
      : db.all(`${OBJECTS} WHERE key > ? ORDER BY key LIMIT ?`, after, limit + 1);
  return page(rows.map(toRecord), limit, (r) => encodeCursor([r.key]));
}

export function setBackend(db: Db, key: string, backend: string): boolean {
  return db.run("UPDATE mg_objects SET backend = ? WHERE key = ?", backend, key) > 0;
}

export function stats(db: Db): { records: number; bytes: number } {
  const row = db.get("SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM mg_objects");
  return { records: Number(row?.n ?? 0), bytes: Number(row?.b ?? 0) };
}

export function claimExpired(
  db: Db,
  now: number,
  limit: number,
  owner: string,
  until: number,
): LedgerRecord[] {
  // The worker's write transaction (BEGIN IMMEDIATE) excludes every other writer, other
  // processes included, so selecting and marking cannot interleave with another claimer.
  const rows = db.all(
    `UPDATE mg_objects SET state = 'deleting', claim_owner = ?, claim_until = ?
     WHERE key IN (
       SELECT key FROM mg_objects
       WHERE expires_at IS NOT NULL AND expires_at <= ?
         AND (claim_until IS NULL OR claim_until <= ?)
       ORDER BY expires_at, key LIMIT ?)
     RETURNING ${RECORD_COLUMNS}`,
    owner,
    until,
    now,
    now,
    limit,
  );
  // RETURNING does not keep the subquery's order.
  return rows
    .map(toRecord)
    .sort((a, b) => Number(a.expiresAt) - Number(b.expiresAt) || (a.key < b.key ? -1 : 1));
}
