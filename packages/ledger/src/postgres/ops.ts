import type { Pool } from "pg";
import type { AsyncOps } from "../ops.ts";
import { custodyOps } from "./ops-custody.ts";
import { recordOps } from "./ops-records.ts";
import { query } from "./query.ts";

/**
 * The ledger's operations in PostgreSQL: every one is a single statement (the multi-step
 * ones call the functions of the schema), so none holds a pooled connection across round
 * trips and each is atomic on its own.
 */
export function postgresOps(pool: Pool): AsyncOps {
  const q = query(pool);
  return { ...recordOps(q), ...custodyOps(q) };
}
