/**
 * The closed set of ways a strip stage can fail. Input the stage does not understand is passed
 * through by default; these codes appear only when the caller asked for `onMalformed: "error"`,
 * or when the stage itself is broken (`Internal`).
 */
export const STRIP_ERROR_CODES = [
  /** The input claims a known format (by its magic bytes) but its structure is broken or truncated. */
  "Malformed",
  /** A metadata structure that must be held to be stripped is larger than the stage's bound. */
  "LimitExceeded",
  /**
   * Metadata lies where a stream can no longer reach it (HEIF item data before its item table,
   * a QuickTime ilst item before the keys box that names it).
   */
  "Unreachable",
  /** A bug in the stage: never caused by input alone. */
  "Internal",
] as const;

export type StripErrorCode = (typeof STRIP_ERROR_CODES)[number];

export class StripError extends Error {
  override readonly name = "StripError";
  readonly code: StripErrorCode;

  constructor(code: StripErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function isStripError(err: unknown, code?: StripErrorCode): err is StripError {
  return err instanceof StripError && (code === undefined || err.code === code);
}
