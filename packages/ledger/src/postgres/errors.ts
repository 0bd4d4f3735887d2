import { LedgerError, type LedgerErrorCode } from "../errors.ts";

/** Socket-level failures: the server is down, restarting, or unreachable. */
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOENT", // a unix socket that is not there
]);

/** PostgreSQL SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
function classify(err: unknown): LedgerErrorCode {
  if (err instanceof LedgerError) return err.code;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK.has(code)) return "Unavailable";
    if (code.startsWith("08")) return "Unavailable"; // connection exception
    if (code === "57P01" || code === "57P02" || code === "57P03") return "Unavailable"; // shutdown
    if (code === "53300" || code.startsWith("53")) return "Unavailable"; // insufficient resources
    if (code === "57014") return "Unavailable"; // statement timeout / cancelled
    if (code === "40001" || code === "40P01") return "Unavailable"; // serialization, deadlock: retry
    if (code.startsWith("23")) return "Conflict"; // integrity constraint violation
    if (code.startsWith("22")) return "InvalidArgument"; // data exception
  }
  const message = err instanceof Error ? err.message : String(err);
  // pg's own words when a connection dies, or none can be had in time.
  if (
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|connection is closed|Cannot use a pool after calling end/i.test(
      message,
    )
  ) {
    return "Unavailable";
  }
  return "Internal";
}

/** Wraps anything pg threw into a LedgerError, keeping it as `cause`. */
export function toLedgerError(err: unknown, operation: string): LedgerError {
  if (err instanceof LedgerError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new LedgerError(classify(err), `${operation}: ${reason || "failed"}`, {
    operation,
    cause: err,
  });
}
