import type { StorageErrorCode } from "@mediagate/core";

/**
 * S3 error codes (the `Code` of the XML error body, which the SDK puts in `name`) by the
 * core code they mean. HEAD answers have no body, so the SDK names those after the status
 * ("NotFound", "Forbidden"): the status is checked first, then the name.
 */
const BY_NAME = new Map<string, StorageErrorCode>(
  Object.entries({
    NoSuchKey: "NotFound",
    NoSuchBucket: "NotFound",
    NotFound: "NotFound",
    AccessDenied: "Unauthorized",
    AllAccessDisabled: "Unauthorized",
    Forbidden: "Unauthorized",
    InvalidAccessKeyId: "Unauthorized",
    SignatureDoesNotMatch: "Unauthorized",
    ExpiredToken: "Unauthorized",
    InvalidToken: "Unauthorized",
    TokenRefreshRequired: "Unauthorized",
    // The SDK's own: no credentials anywhere in the default chain.
    CredentialsProviderError: "Unauthorized",
    InvalidRange: "InvalidRange",
    InternalError: "Unavailable",
    ServiceUnavailable: "Unavailable",
    SlowDown: "Unavailable",
    RequestTimeout: "Unavailable",
    TimeoutError: "Unavailable",
    InvalidBucketName: "InvalidArgument",
    KeyTooLongError: "InvalidArgument",
    MetadataTooLarge: "InvalidArgument",
    EntityTooLarge: "InvalidArgument",
    // A multipart upload that vanished mid-write (aborted elsewhere, or by a lifecycle rule):
    // a 404, but nothing the caller looked for is missing.
    NoSuchUpload: "Internal",
  } satisfies Record<string, StorageErrorCode>),
);

function prop(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** The S3-specific rules; undefined falls back to core's shared classification. */
export function classifyS3Error(err: unknown): StorageErrorCode | undefined {
  const status = prop(prop(err, "$metadata"), "httpStatusCode");
  // A 403 is never "not found", whatever the SDK named it.
  if (status === 401 || status === 403) return "Unauthorized";
  if (status === 416) return "InvalidRange";
  const name = prop(err, "name");
  const code = typeof name === "string" ? BY_NAME.get(name) : undefined;
  // "NotFound" from a status other than 404 (a proxy, a redirect) is not proof of absence.
  if (code === "NotFound" && status !== undefined && status !== 404) return undefined;
  return code;
}
