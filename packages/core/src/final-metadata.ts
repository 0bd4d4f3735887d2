import type { NormalizedWriteOptions } from "./adapter.ts";
import { StorageError } from "./errors.ts";
import { assertValidMetadata, type Metadata } from "./metadata.ts";

/**
 * The metadata to store for a write: `finalMetadata()` merged over the start metadata and
 * checked against the metadata rules. Drivers call it once the body has ended; without a
 * `finalMetadata` it is the start metadata. Anything wrong (the callback throws, or the
 * merged set breaks the rules) is an InvalidArgument, so the driver discards the write.
 */
export function resolveFinalMetadata(
  options: Pick<NormalizedWriteOptions, "metadata" | "finalMetadata">,
  key?: string,
): Metadata {
  if (!options.finalMetadata) return { ...options.metadata };
  let final: unknown;
  try {
    final = options.finalMetadata();
  } catch (err) {
    throw new StorageError(
      "InvalidArgument",
      `write${key ? ` "${key}"` : ""}: finalMetadata failed: ${err instanceof Error ? err.message : String(err)}`,
      { operation: "write", key, cause: err },
    );
  }
  try {
    assertValidMetadata(final);
    const merged = { ...options.metadata, ...final };
    assertValidMetadata(merged);
    return merged;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new StorageError(
      "InvalidArgument",
      `write${key ? ` "${key}"` : ""}: finalMetadata: ${reason}`,
      {
        operation: "write",
        key,
        cause: err,
      },
    );
  }
}

/** Wraps a caller's `finalMetadata` so every call after the first repeats its outcome. */
export function memoizeFinalMetadata(fn: () => Metadata): () => Metadata {
  let outcome: { value: Metadata } | { error: unknown } | undefined;
  return () => {
    if (!outcome) {
      try {
        outcome = { value: fn() };
      } catch (error) {
        outcome = { error };
      }
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  };
}
