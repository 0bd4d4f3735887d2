import { LedgerError } from "../errors.ts";

/** One schema version: statements run in order, in one transaction, with the version row. */
export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS_TABLE = "mg_migrations";

/** The migrations still to apply, or a refusal when the database is newer than this code. */
export function pending(all: readonly Migration[], applied: readonly number[]): Migration[] {
  const latest = all.at(-1)?.version ?? 0;
  const newest = Math.max(0, ...applied);
  if (newest > latest) {
    throw new LedgerError(
      "Conflict",
      `The ledger's schema is at version ${newest}, newer than this mediagate knows (${latest}): upgrade mediagate, or point it at another ledger.`,
      { operation: "migrate" },
    );
  }
  const done = new Set(applied);
  return all.filter((m) => !done.has(m.version));
}
