/**
 * The codes the gateway answers with (`{ result: false, error: { code, message } }`). Listed
 * here rather than imported: a browser bundle must not pull in the gateway. A newer gateway
 * may send a code this list lacks; it is passed through unchanged.
 */
export const GATEWAY_ERROR_CODES = [
  "BAD_REQUEST",
  "NOT_MULTIPART",
  "MALFORMED_MULTIPART",
  "UNKNOWN_OP",
  "MISSING_FILE",
  "TOO_MANY_FILES",
  "TOO_MANY_PARTS",
  "TOO_MANY_FIELDS",
  "FIELD_TOO_LARGE",
  "INVALID_UID",
  "INVALID_MID",
  "INVALID_SOURCE",
  "UNAUTHORIZED",
  "TOKEN_EXPIRED",
  "NOT_FOUND",
  "FILE_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "RATE_LIMITED",
  "INTERNAL",
  "STORAGE_UNAVAILABLE",
  "STORAGE_TIMEOUT",
  "UPLOAD_ABORTED",
  "SHUTTING_DOWN",
  "AUTH_UNAVAILABLE",
  "SPOOL_FULL",
] as const;

/** What went wrong on this side, before or instead of a gateway answer. */
export const CLIENT_ERROR_CODES = [
  /** No answer: refused, reset, DNS, offline, or (in a browser) blocked by CORS. */
  "NETWORK_ERROR",
  /** The caller's AbortSignal fired. */
  "ABORTED",
  /** A non-2xx answer without the gateway's JSON (a proxy or load balancer answered). */
  "HTTP_ERROR",
  /** A 2xx answer that is not `{ result: true, url }` with an absolute http(s) URL. */
  "BAD_RESPONSE",
  /** `getToken()` threw, or gave no token. */
  "TOKEN_UNAVAILABLE",
  /** The call itself is unusable: no file, no gateway URL, no token. */
  "INVALID_ARGUMENT",
] as const;

export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];
/** `(string & {})` keeps codes from a newer gateway typed without losing autocompletion. */
export type UploadErrorCode = GatewayErrorCode | ClientErrorCode | (string & {});

export interface UploadErrorDetails {
  /** HTTP status of the answer; undefined when there was none. */
  status?: number;
  /** Whether the same upload may succeed if tried again later. */
  retryable?: boolean;
  /** What the answer's Retry-After asked for, in milliseconds. */
  retryAfterMs?: number;
  /** Which attempt (1-based) failed this way. */
  attempt?: number;
  cause?: unknown;
}

/** The one error every failure of `upload()` rejects with. */
export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly code: UploadErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly attempt: number;

  constructor(code: UploadErrorCode, message: string, details: UploadErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.retryable = details.retryable ?? false;
    this.retryAfterMs = details.retryAfterMs;
    this.attempt = details.attempt ?? 1;
  }
}

export function isUploadError(err: unknown, code?: UploadErrorCode): err is UploadError {
  return err instanceof UploadError && (code === undefined || err.code === code);
}

/** Statuses worth another try: throttling and a gateway (or the proxy before it) in trouble. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
