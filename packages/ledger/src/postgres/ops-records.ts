import type { AsyncOps, RecordOutcome } from "../ops.ts";
import { RECORD_COLUMNS, RESERVATION_COLUMNS, toRecord, toReservation, type Row } from "../rows.ts";
import { encodeCursor } from "../validate.ts";
import type { Admission, QuotaLimitName } from "../types.ts";
import { page, type Query } from "./query.ts";

/** Records, usage, retention claims and quota admission in PostgreSQL. */

const OBJECTS = `SELECT ${RECORD_COLUMNS} FROM mg_objects`;
const ADMISSION = "o_status, o_detail, o_max, o_used, o_requested";

function admission(row: Row | undefined, leaseUntil: number): Admission | { status: "missing" } {
  switch (row?.o_status) {
    case "admitted":
      return { status: "admitted", leaseUntil: new Date(leaseUntil) };
    case "erasing":
      return { status: "erasing", erasureId: String(row.o_detail) };
    case "exceeded":
      return {
        status: "exceeded",
        limit: row.o_detail as QuotaLimitName,
        max: Number(row.o_max),
        used: Number(row.o_used),
        requested: Number(row.o_requested),
      };
    case "missing":
      return { status: "missing" };
    default:
      throw new Error(`unexpected admission answer ${JSON.stringify(row)}`);
  }
}

export type RecordOps =
  | "record"
  | "get"
  | "remove"
  | "listByUid"
  | "listByMid"
  | "usage"
  | "listAll"
  | "setBackend"
  | "stats"
  | "claimExpired"
  | "reserve"
  | "grow"
  | "release"
  | "reservationsOf"
  | "expiredReservations";

export function recordOps({ rows, one }: Query): Pick<AsyncOps, RecordOps> {
  return {
    async record(r, startedAt, day): Promise<RecordOutcome> {
      const row = await one(
        "record",
        `SELECT mg_record($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) AS outcome`,
        [
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
          startedAt,
          day,
        ],
      );
      const outcome = String(row?.outcome);
      return outcome.startsWith("refused:")
        ? { status: "refused", erasureId: outcome.slice("refused:".length) }
        : { status: "recorded" };
    },
    get: async (key) => {
      const row = await one("get", `${OBJECTS} WHERE key = $1`, [key]);
      return row ? toRecord(row) : undefined;
    },
    remove: async (key) => {
      const row = await one(
        "remove",
        `WITH gone AS (DELETE FROM mg_objects WHERE key = $1 RETURNING uid, size),
         counted AS (UPDATE mg_usage u SET files = u.files - 1, bytes = u.bytes - gone.size
           FROM gone WHERE u.uid = gone.uid)
         SELECT count(*) AS n FROM gone`,
        [key],
      );
      return Number(row?.n) > 0;
    },
    listByUid: async (uid, after, limit) => {
      const found = after
        ? await rows(
            "listByUid",
            `${OBJECTS} WHERE uid = $1 AND (created_at, key) > ($2, $3)
             ORDER BY created_at, key LIMIT $4`,
            [uid, after[0], after[1], limit + 1],
          )
        : await rows("listByUid", `${OBJECTS} WHERE uid = $1 ORDER BY created_at, key LIMIT $2`, [
            uid,
            limit + 1,
          ]);
      return page(found.map(toRecord), limit, (r) => encodeCursor([r.createdAt.getTime(), r.key]));
    },
    listByMid: async (mid, uid) =>
      (
        await rows(
          "listByMid",
          `${OBJECTS} WHERE mid = $1 AND ($2::text IS NULL OR uid = $2) ORDER BY key LIMIT 1000`,
          [mid, uid],
        )
      ).map(toRecord),
    usage: async (uid, now) => {
      const day = Math.floor(now / 86_400_000);
      const row = await one(
        "usage",
        `SELECT u.files, u.bytes,
           CASE WHEN u.day = $2 THEN u.day_files ELSE 0 END AS day_files,
           CASE WHEN u.day = $2 THEN u.day_bytes ELSE 0 END AS day_bytes,
           r.n AS reserved_files, r.b AS reserved_bytes
         FROM (SELECT count(*) AS n, coalesce(sum(bytes), 0)::bigint AS b FROM mg_reservations
               WHERE uid = $1 AND lease_until > $3) r
         LEFT JOIN mg_usage u ON u.uid = $1`,
        [uid, day, now],
      );
      return {
        files: Number(row?.files ?? 0),
        bytes: Number(row?.bytes ?? 0),
        today: { files: Number(row?.day_files ?? 0), bytes: Number(row?.day_bytes ?? 0) },
        reserved: {
          files: Number(row?.reserved_files ?? 0),
          bytes: Number(row?.reserved_bytes ?? 0),
        },
      };
    },
    listAll: async (after, limit) => {
      const found =
        after === undefined
          ? await rows("listAll", `${OBJECTS} ORDER BY key LIMIT $1`, [limit + 1])
          : await rows("listAll", `${OBJECTS} WHERE key > $1 ORDER BY key LIMIT $2`, [
              after,
              limit + 1,
            ]);
      return page(found.map(toRecord), limit, (r) => encodeCursor([r.key]));
    },
    setBackend: async (key, backend) =>
      (
        await rows("setBackend", "UPDATE mg_objects SET backend = $2 WHERE key = $1 RETURNING 1", [
          key,
          backend,
        ])
      ).length > 0,
    stats: async () => {
      const row = await one(
        "stats",
        "SELECT count(*) AS n, coalesce(sum(size), 0)::bigint AS b FROM mg_objects",
      );
      return { records: Number(row?.n ?? 0), bytes: Number(row?.b ?? 0) };
    },
    claimExpired: async (now, limit, owner, until) => {
      // SKIP LOCKED: concurrent claimers pass over each other's rows; a row another
      // claimer updated since this statement began is re-checked against the WHERE clause.
      const claimed = await rows(
        "claimExpired",
        `WITH due AS (
           SELECT key FROM mg_objects
           WHERE expires_at <= $1 AND (claim_until IS NULL OR claim_until <= $1)
           ORDER BY expires_at, key LIMIT $2
           FOR UPDATE SKIP LOCKED)
         UPDATE mg_objects o SET state = 'deleting', claim_owner = $3, claim_until = $4
         FROM due WHERE o.key = due.key
         RETURNING ${RECORD_COLUMNS.split(", ")
           .map((c) => `o.${c}`)
           .join(", ")}`,
        [now, limit, owner, until],
      );
      return claimed
        .map(toRecord)
        .sort((a, b) => Number(a.expiresAt) - Number(b.expiresAt) || (a.key < b.key ? -1 : 1));
    },
    reserve: async (a) => {
      const row = await one(
        "reserve",
        `SELECT ${ADMISSION} FROM mg_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          a.key,
          a.uid,
          a.bytes,
          a.now,
          a.leaseUntil,
          a.day,
          a.files_per_day,
          a.bytes_per_day,
          a.bytes_total,
        ],
      );
      return admission(row, a.leaseUntil) as Admission;
    },
    grow: async (a) => {
      const row = await one(
        "grow",
        `SELECT ${ADMISSION} FROM mg_grow($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          a.key,
          a.bytes,
          a.now,
          a.leaseUntil,
          a.day,
          a.files_per_day,
          a.bytes_per_day,
          a.bytes_total,
        ],
      );
      return admission(row, a.leaseUntil);
    },
    release: async (key) =>
      (await rows("release", "DELETE FROM mg_reservations WHERE key = $1 RETURNING 1", [key]))
        .length > 0,
    reservationsOf: async (uid) =>
      (
        await rows(
          "reservationsOf",
          `SELECT ${RESERVATION_COLUMNS} FROM mg_reservations WHERE uid = $1 ORDER BY key`,
          [uid],
        )
      ).map(toReservation),
    expiredReservations: async (before, limit) =>
      (
        await rows(
          "expiredReservations",
          `SELECT ${RESERVATION_COLUMNS} FROM mg_reservations WHERE lease_until < $1
           ORDER BY lease_until, key LIMIT $2`,
          [before, limit],
        )
      ).map(toReservation),
  };
}
