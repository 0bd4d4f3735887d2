import pg from "pg";
import { LedgerError } from "../errors.ts";
import { OpsLedger } from "../facade.ts";
import type { AsyncOps } from "../ops.ts";
import { MIGRATIONS_TABLE, pending } from "../schema/migration.ts";
import { LOCK_NAMESPACE, POSTGRES_MIGRATIONS } from "../schema/postgres.ts";
import { toLedgerError } from "./errors.ts";
import { postgresOps } from "./ops.ts";

export interface PostgresLedgerOptions {
  /** `postgres://user:password@host:port/database` (libpq URL; `?sslmode=…` is honoured). */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before failing Unavailable (default 5 s). */
  connectTimeoutMs?: number;
  /** How long one statement may run before failing Unavailable (default 30 s). */
  queryTimeoutMs?: number;
}

const INT8 = 20;

/**
 * bigint columns (times in ms, sizes, counts) as JavaScript numbers, for this pool only:
 * pg's global type registry belongs to the application.
 */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8 && format !== "binary"
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * The ledger in PostgreSQL, for several gateways sharing one database. A `pg` Pool: a
 * connection that dies (server restart, failover) is dropped and replaced on the next
 * request, so the ledger recovers without a restart.
 */
export class PostgresLedger extends OpsLedger {
  readonly kind = "postgres" as const;
  protected readonly ops: AsyncOps;
  private readonly pool: pg.Pool;
  private closing: Promise<void> | undefined;

  private constructor(pool: pg.Pool) {
    super();
    this.pool = pool;
    this.ops = postgresOps(pool);
  }

  /** Connects, applies migrations (one gateway at a time), and resolves when ready. */
  static async open(options: PostgresLedgerOptions): Promise<PostgresLedger> {
    if (typeof options?.url !== "string" || !/^postgres(ql)?:\/\//.test(options.url)) {
      throw new LedgerError("InvalidArgument", "PostgreSQL ledger: url must be postgres://…", {
        operation: "open",
      });
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      // The server cancels a statement past the limit and the connection stays usable;
      // the client-side limit, a little later, covers a server that stopped answering.
      statement_timeout: options.queryTimeoutMs ?? 30_000,
      query_timeout: (options.queryTimeoutMs ?? 30_000) + 5_000,
      keepAlive: true,
      application_name: "mediagate-ledger",
      types,
    });
    // An idle connection the server drops emits 'error' on the pool; without a listener
    // that would crash the process. The pool discards it; the next query gets a new one.
    pool.on("error", () => undefined);
    const ledger = new PostgresLedger(pool);
    try {
      await migrate(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw toLedgerError(err, "open");
    }
    return ledger;
  }

  async check(): Promise<void> {
    await this.ops.check();
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end().catch((err: unknown) => {
      throw toLedgerError(err, "close");
    });
    return this.closing;
  }
}

/**
 * Applies what is missing under a session advisory lock, so gateways starting together
 * migrate one after another (the later ones find nothing left to do). Each version is
 * one transaction with its row in the migrations table.
 */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    await client.query("SELECT pg_advisory_lock($1, 0)", [LOCK_NAMESPACE]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
          version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      const { rows } = await client.query(`SELECT version FROM ${MIGRATIONS_TABLE}`);
      for (const migration of pending(
        POSTGRES_MIGRATIONS,
        rows.map((r: { version: number }) => Number(r.version)),
      )) {
        await client.query("BEGIN");
        try {
          for (const statement of migration.statements) await client.query(statement);
          await client.query(
            `INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)`,
            [migration.version, migration.name, Date.now()],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, 0)", [LOCK_NAMESPACE]);
    }
  } catch (err) {
    broken = err;
    throw err;
  } finally {
    // A connection that failed mid-way is not returned to the pool.
    client.release(broken instanceof Error ? broken : undefined);
  }
}
