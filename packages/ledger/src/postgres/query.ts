import type { Pool } from "pg";
import type { Row } from "../rows.ts";
import type { LedgerError } from "../errors.ts";
import { READ_ONLY, type OpName } from "../ops.ts";
import type { Page } from "../types.ts";
import { toLedgerError } from "./errors.ts";

/** Runs one statement on the pool; failures become LedgerErrors named after the operation. */
export interface Query {
  rows(op: string, sql: string, params?: unknown[]): Promise<Row[]>;
  one(op: string, sql: string, params?: unknown[]): Promise<Row | undefined>;
}

export function query(pool: Pool): Query {
  // Named statements are parsed once per connection, then only bound: less work here and
  // on the server for the statements every upload runs.
  const names = new Map<string, string>();
  const rows = async (op: string, sql: string, params: unknown[] = []): Promise<Row[]> => {
    let name = names.get(sql);
    if (name === undefined) {
      name = `mg_${names.size}`;
      names.set(sql, name);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return (await pool.query({ name, text: sql, values: params })).rows as Row[];
      } catch (err) {
        const failure = toLedgerError(err, op);
        // A pooled connection the server dropped (restart, failover) fails the first query
        // sent on it; a read can safely go again, on a new connection.
        if (attempt > 1 || !retryable(op, failure)) throw failure;
      }
    }
  };
  return { rows, one: async (op, sql, params) => (await rows(op, sql, params))[0] };
}

export const bytea = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Pages fetch limit + 1 rows: the extra one says whether another page follows. */
export function page<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, cursor: null };
  const items = rows.slice(0, limit);
  return { items, cursor: cursorOf(items[items.length - 1] as T) };
}

function retryable(op: string, failure: LedgerError): boolean {
  return (
    failure.code === "Unavailable" &&
    READ_ONLY.has(op as OpName) &&
    !/timeout/i.test(failure.message)
  );
}
