import { codeForHttpStatus, type StorageErrorCode } from "@mediagate/core";

function prop(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/**
 * @google-cloud/storage reports an HTTP status in several places depending on the path the
 * request took: `code` (ApiError, and resumable uploads in v8), `status` (v7 resumable
 * uploads, gaxios), `response.status`. Codes that are strings are Node/SDK error names and
 * are left to core's shared rules.
 */
export function classifyGcsError(err: unknown): StorageErrorCode | undefined {
  if (prop(err, "name") === "SigningError") return "Unsupported";
  // AbortSignal.timeout(): the caller's deadline passed while GCS was still unanswered.
  if (prop(err, "name") === "TimeoutError") return "Unavailable";
  for (const status of [
    prop(err, "code"),
    prop(err, "status"),
    prop(prop(err, "response"), "status"),
  ]) {
    const code = typeof status === "number" ? codeForHttpStatus(status) : undefined;
    if (code) return code;
  }
  // "Retry limit exceeded - status: 503 …" is how the resumable uploader gives up on 5xx.
  const message = prop(err, "message");
  if (typeof message === "string" && /^Retry (?:limit|total time limit) exceeded/.test(message)) {
    const status = /status: (\d{3})/.exec(message);
    return (status && codeForHttpStatus(Number(status[1]))) || "Unavailable";
  }
  return undefined;
}
