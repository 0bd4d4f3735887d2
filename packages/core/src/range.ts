import { StorageError } from "./errors.ts";

/**
 * A byte range with HTTP semantics: `{ start, end }` is inclusive at both ends and `end`
 * past the last byte is clamped; `{ start }` runs to the end; `{ suffix: n }` is the last
 * n bytes (the whole object when n exceeds its size).
 */
export type ByteRange = { start: number; end?: number } | { suffix: number };

/** A range resolved against an object's size: both ends inclusive and inside the object. */
export interface ResolvedRange {
  start: number;
  end: number;
}

export function assertValidRangeSpec(range: ByteRange, operation = "read"): void {
  const ok =
    "suffix" in range
      ? Number.isSafeInteger(range.suffix) && range.suffix >= 0
      : Number.isSafeInteger(range.start) &&
        range.start >= 0 &&
        (range.end === undefined || (Number.isSafeInteger(range.end) && range.end >= range.start));
  if (!ok) {
    throw new StorageError("InvalidRange", `Malformed byte range ${JSON.stringify(range)}.`, {
      operation,
    });
  }
}

/**
 * Resolves a range against an object of `size` bytes exactly as an HTTP server would, or
 * throws StorageError("InvalidRange") when it cannot be satisfied (416). Every adapter uses
 * this so "the last byte", "past the end" and "empty object" mean the same everywhere.
 */
export function resolveRange(range: ByteRange, size: number, key?: string): ResolvedRange {
  assertValidRangeSpec(range);
  const unsatisfiable = () =>
    new StorageError(
      "InvalidRange",
      `Range ${JSON.stringify(range)} cannot be satisfied by an object of ${size} bytes.`,
      { operation: "read", key },
    );
  if ("suffix" in range) {
    if (range.suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) throw unsatisfiable();
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

/** The HTTP `Range` header value for a spec, for backends that take one. */
export function rangeHeader(range: ByteRange): string {
  return "suffix" in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end ?? ""}`;
}
