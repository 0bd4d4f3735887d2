import type { StorageErrorCode } from "@mediagate/core";

/** Azure error codes (x-ms-error-code) and what they mean to a caller. */
const CODES: Record<string, StorageErrorCode> = {
  BlobNotFound: "NotFound",
  ContainerNotFound: "NotFound",
  ResourceNotFound: "NotFound",

  AuthenticationFailed: "Unauthorized",
  AuthorizationFailure: "Unauthorized",
  AuthorizationPermissionMismatch: "Unauthorized",
  AuthorizationProtocolMismatch: "Unauthorized",
  AuthorizationResourceTypeMismatch: "Unauthorized",
  AuthorizationServiceMismatch: "Unauthorized",
  AuthorizationSourceIPMismatch: "Unauthorized",
  InsufficientAccountPermissions: "Unauthorized",
  InvalidAuthenticationInfo: "Unauthorized",
  NoAuthenticationInformation: "Unauthorized",
  KeyBasedAuthenticationNotPermitted: "Unauthorized",

  InvalidRange: "InvalidRange",

  InvalidResourceName: "InvalidArgument",
  OutOfRangeInput: "InvalidArgument",
  InvalidMetadata: "InvalidArgument",
  RequestBodyTooLarge: "InvalidArgument",

  ServerBusy: "Unavailable",
  OperationTimedOut: "Unavailable",
  InternalError: "Unavailable",
  ContainerBeingDeleted: "Unavailable",
  // @azure/core-rest-pipeline: the request never got an answer (refused, reset, DNS…).
  REQUEST_SEND_ERROR: "Unavailable",
};

/** @azure/identity failures: no usable identity, or Entra ID refused it. */
const CREDENTIAL_ERRORS = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AuthenticationRequiredError",
  "AggregateAuthenticationError",
]);

const prop = (value: unknown, name: string): unknown =>
  typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;

/**
 * Azure-specific classification; undefined falls back to core's shared rules (status codes,
 * socket errors, aborts). A 403 always means Unauthorized whatever its error code says, so a
 * permission problem can never pass for a missing blob.
 */
export function classifyAzureError(err: unknown): StorageErrorCode | undefined {
  const status = prop(err, "statusCode");
  if (status === 401 || status === 403) return "Unauthorized";
  const name = prop(err, "name");
  if (typeof name === "string" && CREDENTIAL_ERRORS.has(name)) return "Unauthorized";
  // HEAD answers carry the code only in a header, which the SDK puts in details.errorCode.
  for (const code of [prop(prop(err, "details"), "errorCode"), prop(err, "code")]) {
    if (typeof code === "string" && Object.hasOwn(CODES, code)) return CODES[code];
  }
  return undefined;
}

/** The Azure error code of an SDK error, for the adapter's own decisions. */
export function azureErrorCode(err: unknown): string | undefined {
  for (const code of [prop(prop(err, "details"), "errorCode"), prop(err, "code")]) {
    if (typeof code === "string") return code;
  }
  return undefined;
}
