import type { AsyncOps } from "../ops.ts";
import { ERASURE_COLUMNS, KEY_COLUMNS, toErasure, toKey, type Row } from "../rows.ts";
import { MIGRATIONS_TABLE } from "../schema/migration.ts";
import { encodeCursor } from "../validate.ts";
import type { ErasureJob } from "../types.ts";
import type { RecordOps } from "./ops-records.ts";
import { bytea, page, type Query } from "./query.ts";

/** Erasure jobs, wrapped keys and the migrations table in PostgreSQL. */

const ERASURES = `SELECT ${ERASURE_COLUMNS} FROM mg_erasures`;
const KEYS = `SELECT ${KEY_COLUMNS} FROM mg_keys`;

const job = (row: Row | undefined): ErasureJob | undefined => (row ? toErasure(row) : undefined);

type CustodyOps = Exclude<keyof AsyncOps, RecordOps>;

export function custodyOps({ rows, one }: Query): Pick<AsyncOps, CustodyOps> {
  return {
    beginErasure: async (uid, id, now) =>
      toErasure(
        (await one("beginErasure", `SELECT ${ERASURE_COLUMNS} FROM mg_begin_erasure($1, $2, $3)`, [
          uid,
          id,
          now,
        ])) as Row,
      ),
    getErasure: async (id) => job(await one("getErasure", `${ERASURES} WHERE id = $1`, [id])),
    latestErasure: async (uid) =>
      job(
        await one(
          "latestErasure",
          `${ERASURES} WHERE uid = $1 ORDER BY started_at DESC, id LIMIT 1`,
          [uid],
        ),
      ),
    advanceErasure: async (id, cursor, removed) =>
      job(
        await one(
          "advanceErasure",
          // The outer SELECT sees the row as before the UPDATE: the old row only if unchanged.
          `WITH moved AS (
             UPDATE mg_erasures SET cursor = $2, done = done + $3
             WHERE id = $1 AND finished_at IS NULL RETURNING ${ERASURE_COLUMNS})
           SELECT * FROM moved
           UNION ALL ${ERASURES} WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM moved)`,
          [id, cursor, removed],
        ),
      ),
    finishErasure: async (id, now) =>
      job(
        await one("finishErasure", `SELECT ${ERASURE_COLUMNS} FROM mg_finish_erasure($1, $2)`, [
          id,
          now,
        ]),
      ),
    claimErasure: async (id, runner, now, until) =>
      job(
        await one(
          "claimErasure",
          `UPDATE mg_erasures SET runner = $2, lease_until = $4
           WHERE id = $1 AND finished_at IS NULL
             AND (runner IS NULL OR runner = $2 OR lease_until <= $3)
           RETURNING ${ERASURE_COLUMNS}`,
          [id, runner, now, until],
        ),
      ),
    unfinishedErasures: async () =>
      (
        await rows(
          "unfinishedErasures",
          `${ERASURES} WHERE finished_at IS NULL ORDER BY started_at, id`,
        )
      ).map(toErasure),
    forgetErasures: async (before) =>
      (
        await rows(
          "forgetErasures",
          "DELETE FROM mg_erasures WHERE finished_at IS NOT NULL AND finished_at < $1 RETURNING 1",
          [before],
        )
      ).length,
    getKey: async (owner) => {
      const row = await one("getKey", `${KEYS} WHERE owner = $1`, [owner]);
      return row ? toKey(row) : undefined;
    },
    putKeyIfAbsent: async (owner, wrapped, masterKeyId, createdAt) => {
      // ON CONFLICT waits for a racing insert to commit; the SELECT then sees its key. A
      // delete between the two (an erasure) sends us round again.
      for (;;) {
        const inserted = await one(
          "putKeyIfAbsent",
          `INSERT INTO mg_keys (owner, wrapped, master_key_id, created_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (owner) DO NOTHING RETURNING ${KEY_COLUMNS}`,
          [owner, bytea(wrapped), masterKeyId, createdAt],
        );
        const row = inserted ?? (await one("putKeyIfAbsent", `${KEYS} WHERE owner = $1`, [owner]));
        if (row) return toKey(row);
      }
    },
    deleteKey: async (owner) =>
      (await rows("deleteKey", "DELETE FROM mg_keys WHERE owner = $1 RETURNING 1", [owner]))
        .length > 0,
    listKeys: async (after, limit) => {
      const found =
        after === undefined
          ? await rows("listKeys", `${KEYS} ORDER BY owner LIMIT $1`, [limit + 1])
          : await rows("listKeys", `${KEYS} WHERE owner > $1 ORDER BY owner LIMIT $2`, [
              after,
              limit + 1,
            ]);
      const keys = page(found, limit, (last) => encodeCursor([String(last.owner)]));
      return { items: keys.items.map(toKey), cursor: keys.cursor };
    },
    rewrapKey: async (owner, expected, wrapped, masterKeyId) =>
      (
        await rows(
          "rewrapKey",
          `UPDATE mg_keys SET wrapped = $3, master_key_id = $4
           WHERE owner = $1 AND master_key_id = $2 RETURNING 1`,
          [owner, expected, bytea(wrapped), masterKeyId],
        )
      ).length > 0,
    migrations: async () =>
      (
        await rows(
          "migrations",
          `SELECT version, name, applied_at FROM ${MIGRATIONS_TABLE} ORDER BY version`,
        )
      ).map((r) => ({
        version: Number(r.version),
        name: String(r.name),
        appliedAt: new Date(Number(r.applied_at)),
      })),
    check: async () => {
      await rows("check", "SELECT 1");
      return null;
    },
  };
}
