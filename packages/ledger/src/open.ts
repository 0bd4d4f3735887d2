import { LedgerError } from "./errors.ts";
import type { Ledger } from "./ledger.ts";
import { PostgresLedger, type PostgresLedgerOptions } from "./postgres/ledger.ts";
import { SqliteLedger, type SqliteLedgerOptions } from "./sqlite/ledger.ts";

export type LedgerConfig =
  ({ kind: "sqlite" } & SqliteLedgerOptions) | ({ kind: "postgres" } & PostgresLedgerOptions);

/** Opens the configured ledger, migrated and ready; rejects with a LedgerError. */
export async function openLedger(config: LedgerConfig): Promise<Ledger> {
  switch (config?.kind) {
    case "sqlite":
      return SqliteLedger.open(config);
    case "postgres":
      return PostgresLedger.open(config);
    default:
      throw new LedgerError("InvalidArgument", `openLedger: kind must be "sqlite" or "postgres".`, {
        operation: "open",
      });
  }
}
