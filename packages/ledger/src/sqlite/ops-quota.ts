import { RESERVATION_COLUMNS, toReservation } from "../rows.ts";
import type { Admission, Reservation, Usage } from "../types.ts";
import type { Db } from "./db.ts";
import type { AdmitArgs } from "../ops.ts";

/**
 * Quota admission. The worker runs every write in a BEGIN IMMEDIATE transaction, which holds
 * SQLite's single write lock (across processes too): the check and the reservation that
 * follows it cannot interleave with another admission. Same rules as mg_admit in PostgreSQL.
 */

function runningErasure(db: Db, uid: string): string | undefined {
  const row = db.get("SELECT id FROM mg_erasures WHERE uid = ? AND finished_at IS NULL", uid);
  return row === undefined ? undefined : String(row.id);
}

/** Committed usage: total bytes, and today's counters (zero when the row is from another day). */
function committed(db: Db, uid: string, day: number) {
  const row = db.get(
    "SELECT files, bytes, day, day_files, day_bytes FROM mg_usage WHERE uid = ?",
    uid,
  );
  const today = row !== undefined && Number(row.day) === day;
  return {
    files: Number(row?.files ?? 0),
    bytes: Number(row?.bytes ?? 0),
    dayFiles: today ? Number(row?.day_files) : 0,
    dayBytes: today ? Number(row?.day_bytes) : 0,
  };
}

/** Live reservations of the uid other than `exceptKey`. */
function inFlight(db: Db, uid: string, exceptKey: string, now: number) {
  const row = db.get(
    `SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM mg_reservations
     WHERE uid = ? AND key <> ? AND lease_until > ?`,
    uid,
    exceptKey,
    now,
  );
  return { files: Number(row?.n ?? 0), bytes: Number(row?.b ?? 0) };
}

/** Whether one more upload of `a.bytes` fits; undefined when it does. */
function refusal(db: Db, a: AdmitArgs): Admission | undefined {
  const erasureId = runningErasure(db, a.uid);
  if (erasureId !== undefined) return { status: "erasing", erasureId };
  const used = committed(db, a.uid, a.day);
  const other = inFlight(db, a.uid, a.key, a.now);
  if (a.files_per_day >= 0 && used.dayFiles + other.files + 1 > a.files_per_day) {
    const current = used.dayFiles + other.files;
    return {
      status: "exceeded",
      limit: "filesPerDay",
      max: a.files_per_day,
      used: current,
      requested: 1,
    };
  }
  if (a.bytes_per_day >= 0 && used.dayBytes + other.bytes + a.bytes > a.bytes_per_day) {
    const current = used.dayBytes + other.bytes;
    return {
      status: "exceeded",
      limit: "bytesPerDay",
      max: a.bytes_per_day,
      used: current,
      requested: a.bytes,
    };
  }
  if (a.bytes_total >= 0 && used.bytes + other.bytes + a.bytes > a.bytes_total) {
    const current = used.bytes + other.bytes;
    return {
      status: "exceeded",
      limit: "bytesTotal",
      max: a.bytes_total,
      used: current,
      requested: a.bytes,
    };
  }
  return undefined;
}

export function reserve(db: Db, a: AdmitArgs): Admission {
  const refused = refusal(db, a);
  if (refused) return refused;
  db.run(
    "INSERT INTO mg_reservations (key, uid, bytes, created_at, lease_until) VALUES (?, ?, ?, ?, ?)",
    a.key,
    a.uid,
    a.bytes,
    a.now,
    a.leaseUntil,
  );
  return { status: "admitted", leaseUntil: new Date(a.leaseUntil) };
}

export function grow(db: Db, a: Omit<AdmitArgs, "uid">): Admission | { status: "missing" } {
  const row = db.get("SELECT uid FROM mg_reservations WHERE key = ?", a.key);
  if (row === undefined) return { status: "missing" };
  const args = { ...a, uid: String(row.uid) };
  const refused = refusal(db, args);
  if (refused) return refused;
  db.run(
    "UPDATE mg_reservations SET bytes = ?, lease_until = ? WHERE key = ?",
    a.bytes,
    a.leaseUntil,
    a.key,
  );
  return { status: "admitted", leaseUntil: new Date(a.leaseUntil) };
}

export function release(db: Db, key: string): boolean {
  return db.run("DELETE FROM mg_reservations WHERE key = ?", key) > 0;
}

export function usage(db: Db, uid: string, now: number, day: number): Usage {
  const used = committed(db, uid, day);
  const reserved = inFlight(db, uid, "", now);
  return {
    files: used.files,
    bytes: used.bytes,
    today: { files: used.dayFiles, bytes: used.dayBytes },
    reserved,
  };
}

export function reservationsOf(db: Db, uid: string): Reservation[] {
  return db
    .all(`SELECT ${RESERVATION_COLUMNS} FROM mg_reservations WHERE uid = ? ORDER BY key`, uid)
    .map(toReservation);
}

export function expiredReservations(db: Db, before: number, limit: number): Reservation[] {
  return db
    .all(
      `SELECT ${RESERVATION_COLUMNS} FROM mg_reservations WHERE lease_until < ?
       ORDER BY lease_until, key LIMIT ?`,
      before,
      limit,
    )
    .map(toReservation);
}
