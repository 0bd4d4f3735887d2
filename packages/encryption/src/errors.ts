/**
 * The closed set of failure kinds this package reports. Callers branch on `code`; the message
 * is for logs and never contains key material.
 */
export const ENCRYPTION_ERROR_CODES = [
  /** Authentication failed: the ciphertext, a wrapped key or the associated data was altered, or
   * the key is not the one the data was sealed with (AES-GCM cannot tell these apart). */
  "Tampered",
  /** The ciphertext ends early: a missing header, a missing final segment, or a cut stream. */
  "Truncated",
  /** Wrapped material names a wrapping key this caller does not hold (or a different one). */
  "WrongKey",
  /** Key material is unusable: wrong length, not base64, duplicated, or empty. */
  "InvalidKeyMaterial",
  /** An encoded envelope or wrapped key is malformed or of an unknown version. */
  "InvalidEnvelope",
  /** Some other argument is unusable: a segment size, a range, an option. */
  "InvalidArgument",
] as const;

export type EncryptionErrorCode = (typeof ENCRYPTION_ERROR_CODES)[number];

export class EncryptionError extends Error {
  override readonly name = "EncryptionError";
  readonly code: EncryptionErrorCode;

  constructor(code: EncryptionErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function isEncryptionError(
  err: unknown,
  code?: EncryptionErrorCode,
): err is EncryptionError {
  return err instanceof EncryptionError && (code === undefined || err.code === code);
}
