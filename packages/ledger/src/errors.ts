/**
 * The closed set of failure kinds every ledger reports, whichever database is behind it, so
 * the gateway maps them to answers once (Unavailable → 503 and a failing /readyz).
 */
export const LEDGER_ERROR_CODES = [
  /** The database cannot be reached, is shutting down, timed out, or the ledger is closed. */
  "Unavailable",
  /** The request contradicts the stored state: a duplicate key, a missing reservation or job. */
  "Conflict",
  /** An argument is unusable (empty key, negative size, bad cursor…); raised before any I/O. */
  "InvalidArgument",
  /** Anything else: a bug, or an answer from the database nobody expected. */
  "Internal",
] as const;

export type LedgerErrorCode = (typeof LEDGER_ERROR_CODES)[number];

export class LedgerError extends Error {
  override readonly name = "LedgerError";
  readonly code: LedgerErrorCode;
  /** The ledger operation that failed: "record", "reserve", … */
  readonly operation: string | undefined;

  constructor(
    code: LedgerErrorCode,
    message: string,
    options: { operation?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.operation = options.operation;
  }
}

export function isLedgerError(err: unknown, code?: LedgerErrorCode): err is LedgerError {
  return err instanceof LedgerError && (code === undefined || err.code === code);
}
