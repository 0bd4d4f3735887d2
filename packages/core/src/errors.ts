/**
 * The closed set of failure kinds every adapter reports. Callers branch on `code`, never on
 * SDK-specific error shapes, so a gateway written against S3 behaves the same on Azure.
 */
export const STORAGE_ERROR_CODES = [
  /** The object (or bucket/container/folder) does not exist. Never used for a 403. */
  "NotFound",
  /** The key or prefix breaks the key rules; raised before any I/O. */
  "InvalidKey",
  /** A byte range cannot be satisfied by the object (HTTP 416 semantics). */
  "InvalidRange",
  /** Some other argument is unusable: metadata, expiry, content type… */
  "InvalidArgument",
  /** The operation was cancelled through its AbortSignal, or its body stream failed. */
  "Aborted",
  /** The backend refused the credentials or the permission (401/403). */
  "Unauthorized",
  /** The backend could not be reached, timed out, throttled, or answered 5xx. */
  "Unavailable",
  /** The backend has no room: a full disk or quota (ENOSPC, EDQUOT, HTTP 507). */
  "Full",
  /** The backend cannot do this (for example, sign URLs with these credentials). */
  "Unsupported",
  /** Anything else: a bug, or a backend answer nobody expected. */
  "Internal",
] as const;

export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

export interface StorageErrorDetails {
  /** The adapter operation that failed: "write", "read", "stat", … */
  operation?: string;
  /** The key the operation was about, when there is one. */
  key?: string;
  /** The original error (SDK error, system error, abort reason). */
  cause?: unknown;
}

export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;
  readonly operation: string | undefined;
  readonly key: string | undefined;

  constructor(code: StorageErrorCode, message: string, details: StorageErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.operation = details.operation;
    this.key = details.key;
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

/** Node system error codes that mean "the backend is not reachable right now". */
const UNAVAILABLE_SYSTEM_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/** Maps an HTTP status from a backend to a code, or undefined when the status says nothing. */
export function codeForHttpStatus(status: number | undefined): StorageErrorCode | undefined {
  if (status === undefined || !Number.isFinite(status)) return undefined;
  if (status === 401 || status === 403) return "Unauthorized";
  if (status === 404) return "NotFound";
  if (status === 416) return "InvalidRange";
  if (status === 507) return "Full";
  if (status === 408 || status === 429 || status >= 500) return "Unavailable";
  return undefined;
}

function errorProp(err: unknown, prop: string): unknown {
  return typeof err === "object" && err !== null
    ? (err as Record<string, unknown>)[prop]
    : undefined;
}

/**
 * Classification every backend shares: aborts, network failures, and a bare HTTP status found
 * in the usual places (`status`, `statusCode`, `$metadata.httpStatusCode`, `response.status`).
 * Adapters try their own SDK-specific rules first and fall back to this.
 */
export function classifyCommonError(err: unknown): StorageErrorCode | undefined {
  if (err instanceof StorageError) return err.code;
  const name = errorProp(err, "name");
  if (name === "AbortError" || errorProp(err, "code") === "ABORT_ERR") return "Aborted";
  for (const code of [errorProp(err, "code"), errorProp(errorProp(err, "cause"), "code")]) {
    if (typeof code === "string" && UNAVAILABLE_SYSTEM_CODES.has(code)) return "Unavailable";
  }
  const metadata = errorProp(err, "$metadata");
  const response = errorProp(err, "response");
  for (const status of [
    errorProp(err, "status"),
    errorProp(err, "statusCode"),
    errorProp(metadata, "httpStatusCode"),
    errorProp(response, "status"),
    errorProp(response, "statusCode"),
  ]) {
    const code = typeof status === "number" ? codeForHttpStatus(status) : undefined;
    if (code) return code;
  }
  return undefined;
}

/**
 * Wraps anything thrown by a backend into a StorageError, keeping the original as `cause`.
 * An existing StorageError passes through unchanged.
 */
export function toStorageError(
  err: unknown,
  details: StorageErrorDetails & { classify?: (err: unknown) => StorageErrorCode | undefined },
): StorageError {
  if (err instanceof StorageError) return err;
  const code = details.classify?.(err) ?? classifyCommonError(err) ?? "Internal";
  const what = [details.operation, details.key && `"${details.key}"`].filter(Boolean).join(" ");
  const reason = err instanceof Error ? err.message : String(err);
  return new StorageError(code, `${what ? `${what}: ` : ""}${reason}`, {
    operation: details.operation,
    key: details.key,
    cause: err,
  });
}
