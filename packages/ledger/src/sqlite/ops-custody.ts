import { ERASURE_COLUMNS, KEY_COLUMNS, toErasure, toKey } from "../rows.ts";
import { MIGRATIONS_TABLE } from "../schema/migration.ts";
import { encodeCursor, keyOwner } from "../validate.ts";
import type { AppliedMigration, ErasureJob, Page, StoredKey } from "../types.ts";
import type { Db } from "./db.ts";

/** Erasure jobs, wrapped keys and the migrations table, inside the worker's transaction. */

const ERASURES = `SELECT ${ERASURE_COLUMNS} FROM mg_erasures`;

export function getErasure(db: Db, id: string): ErasureJob | undefined {
  const row = db.get(`${ERASURES} WHERE id = ?`, id);
  return row === undefined ? undefined : toErasure(row);
}

export function beginErasure(db: Db, uid: string, id: string, now: number): ErasureJob {
  const running = db.get(`${ERASURES} WHERE uid = ? AND finished_at IS NULL`, uid);
  if (running !== undefined) return toErasure(running);
  const usage = db.get("SELECT files FROM mg_usage WHERE uid = ?", uid);
  db.run(
    `INSERT INTO mg_erasures (id, uid, total, done, cursor, started_at)
     VALUES (?, ?, ?, 0, NULL, ?)`,
    id,
    uid,
    Number(usage?.files ?? 0),
    now,
  );
  return getErasure(db, id) as ErasureJob;
}

export function latestErasure(db: Db, uid: string): ErasureJob | undefined {
  const row = db.get(`${ERASURES} WHERE uid = ? ORDER BY started_at DESC, id LIMIT 1`, uid);
  return row === undefined ? undefined : toErasure(row);
}

export function advanceErasure(
  db: Db,
  id: string,
  cursor: string | null,
  removed: number,
): ErasureJob | undefined {
  db.run(
    "UPDATE mg_erasures SET cursor = ?, done = done + ? WHERE id = ? AND finished_at IS NULL",
    cursor,
    removed,
    id,
  );
  return getErasure(db, id);
}

export function finishErasure(db: Db, id: string, now: number): ErasureJob | undefined {
  const job = getErasure(db, id);
  if (job === undefined || job.state === "finished") return job;
  db.run("UPDATE mg_erasures SET finished_at = ? WHERE id = ?", now, id);
  db.run("DELETE FROM mg_reservations WHERE uid = ?", job.uid);
  db.run("DELETE FROM mg_keys WHERE owner = ?", keyOwner(job.uid));
  db.run("DELETE FROM mg_usage WHERE uid = ? AND files <= 0", job.uid);
  return getErasure(db, id);
}

export function claimErasure(
  db: Db,
  id: string,
  runner: string,
  now: number,
  until: number,
): ErasureJob | undefined {
  const row = db.get(
    `UPDATE mg_erasures SET runner = ?, lease_until = ?
     WHERE id = ? AND finished_at IS NULL
       AND (runner IS NULL OR runner = ? OR lease_until <= ?)
     RETURNING ${ERASURE_COLUMNS}`,
    runner,
    until,
    id,
    runner,
    now,
  );
  return row === undefined ? undefined : toErasure(row);
}

export function unfinishedErasures(db: Db): ErasureJob[] {
  return db.all(`${ERASURES} WHERE finished_at IS NULL ORDER BY started_at, id`).map(toErasure);
}

export function forgetErasures(db: Db, before: number): number {
  return db.run(
    "DELETE FROM mg_erasures WHERE finished_at IS NOT NULL AND finished_at < ?",
    before,
  );
}

const KEYS = `SELECT ${KEY_COLUMNS} FROM mg_keys`;

export function getKey(db: Db, owner: string): StoredKey | undefined {
  const row = db.get(`${KEYS} WHERE owner = ?`, owner);
  return row === undefined ? undefined : toKey(row);
}

export function putKeyIfAbsent(
  db: Db,
  owner: string,
  wrapped: Uint8Array,
  masterKeyId: string,
  createdAt: number,
): StoredKey {
  db.run(
    `INSERT INTO mg_keys (owner, wrapped, master_key_id, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (owner) DO NOTHING`,
    owner,
    wrapped,
    masterKeyId,
    createdAt,
  );
  return getKey(db, owner) as StoredKey;
}

export function deleteKey(db: Db, owner: string): boolean {
  return db.run("DELETE FROM mg_keys WHERE owner = ?", owner) > 0;
}

export function listKeys(db: Db, after: string | undefined, limit: number): Page<StoredKey> {
  const rows =
    after === undefined
      ? db.all(`${KEYS} ORDER BY owner LIMIT ?`, limit + 1)
      : db.all(`${KEYS} WHERE owner > ? ORDER BY owner LIMIT ?`, after, limit + 1);
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(toKey),
    cursor: more && last ? encodeCursor([String(last.owner)]) : null,
  };
}

export function rewrapKey(
  db: Db,
  owner: string,
  expected: string,
  wrapped: Uint8Array,
  masterKeyId: string,
): boolean {
  const changed = db.run(
    "UPDATE mg_keys SET wrapped = ?, master_key_id = ? WHERE owner = ? AND master_key_id = ?",
    wrapped,
    masterKeyId,
    owner,
    expected,
  );
  return changed > 0;
}

export function migrations(db: Db): AppliedMigration[] {
  return db
    .all(`SELECT version, name, applied_at FROM ${MIGRATIONS_TABLE} ORDER BY version`)
    .map((r) => ({
      version: Number(r.version),
      name: String(r.name),
      appliedAt: new Date(Number(r.applied_at)),
    }));
}
