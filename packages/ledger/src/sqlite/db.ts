import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { LedgerError } from "../errors.ts";
import { MIGRATIONS_TABLE, pending } from "../schema/migration.ts";
import { SQLITE_MIGRATIONS } from "../schema/sqlite.ts";
import type { Row } from "../rows.ts";
import type { WireError, WorkerConfig } from "./protocol.ts";

type Params = SQLInputValue[];

/** A DatabaseSync with a statement cache: each SQL text is prepared once per connection. */
export class Db {
  readonly raw: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  constructor(raw: DatabaseSync) {
    this.raw = raw;
  }

  private stmt(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.raw.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  get(sql: string, ...params: Params): Row | undefined {
    return this.stmt(sql).get(...params) as Row | undefined;
  }

  all(sql: string, ...params: Params): Row[] {
    return this.stmt(sql).all(...params) as Row[];
  }

  /** Rows changed. */
  run(sql: string, ...params: Params): number {
    return Number(this.stmt(sql).run(...params).changes);
  }

  exec(sql: string): void {
    this.stmt(sql).run();
  }
}

/**
 * Opens (creating it and its folder if needed) the ledger file in WAL mode and applies the
 * schema migrations. Several processes may open one file: BEGIN IMMEDIATE and the busy
 * timeout serialise their writers, migrations included.
 */
export function openDatabase(config: WorkerConfig): Db {
  if (config.path !== ":memory:") mkdirSync(dirname(config.path), { recursive: true });
  const raw = new DatabaseSync(config.path, { timeout: config.busyTimeoutMs });
  try {
    raw.exec(`PRAGMA busy_timeout = ${Math.trunc(config.busyTimeoutMs)}`);
    raw.exec("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL syncs at checkpoints only: safe against a process crash, and a
    // power loss may lose the last commits. FULL syncs every commit.
    raw.exec(`PRAGMA synchronous = ${config.durable ? "FULL" : "NORMAL"}`);
    const db = new Db(raw);
    migrate(db);
    return db;
  } catch (err) {
    raw.close();
    throw err;
  }
}

function migrate(db: Db): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL
      ) STRICT`,
    );
    const applied = db.all(`SELECT version FROM ${MIGRATIONS_TABLE}`).map((r) => Number(r.version));
    for (const migration of pending(SQLITE_MIGRATIONS, applied)) {
      for (const statement of migration.statements) db.raw.exec(statement);
      db.run(
        `INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`,
        migration.version,
        migration.name,
        Date.now(),
      );
    }
    db.exec("COMMIT");
  } catch (err) {
    db.raw.exec("ROLLBACK");
    throw err;
  }
}

/** SQLite primary result codes (the low byte of an extended code). */
const CONSTRAINT = 19;
const UNAVAILABLE = new Set([
  5, // BUSY
  6, // LOCKED
  8, // READONLY
  10, // IOERR
  13, // FULL
  14, // CANTOPEN
  21, // MISUSE: the database was closed under us
]);

/** Classifies anything thrown in the worker into what crosses back to the caller. */
export function wireError(err: unknown, operation: string): WireError {
  if (err instanceof LedgerError) {
    return { code: err.code, message: err.message, operation, cause: { message: err.message } };
  }
  const errcode = (err as { errcode?: unknown }).errcode;
  const errstr = (err as { errstr?: unknown }).errstr;
  const message = err instanceof Error ? err.message : String(err);
  const primary = typeof errcode === "number" ? errcode & 0xff : undefined;
  const code =
    primary === CONSTRAINT
      ? "Conflict"
      : primary !== undefined && UNAVAILABLE.has(primary)
        ? "Unavailable"
        : /database is not open/i.test(message)
          ? "Unavailable"
          : "Internal";
  return {
    code,
    message: `${operation}: ${message}`,
    operation,
    cause: {
      message,
      ...(typeof errcode === "number" ? { errcode } : {}),
      ...(typeof errstr === "string" ? { errstr } : {}),
    },
  };
}
