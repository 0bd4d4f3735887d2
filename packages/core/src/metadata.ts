import { StorageError } from "./errors.ts";

/**
 * Metadata keys are lowercase identifiers: Azure requires C# identifiers, S3 lower-cases
 * header names, so this is the set that round-trips everywhere unchanged.
 */
const METADATA_KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
/** S3 caps user metadata at 2 KB; staying under it keeps every backend interchangeable. */
export const MAX_METADATA_BYTES = 2048;

export type Metadata = Record<string, string>;

/** Throws StorageError("InvalidArgument") unless metadata fits every backend. */
export function assertValidMetadata(
  metadata: unknown,
  operation = "write",
): asserts metadata is Metadata {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new StorageError("InvalidArgument", "Metadata must be an object of strings.", {
      operation,
    });
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (!METADATA_KEY_PATTERN.test(key)) {
      throw new StorageError(
        "InvalidArgument",
        `Metadata key ${JSON.stringify(key)} must match ${METADATA_KEY_PATTERN}.`,
        { operation },
      );
    }
    if (typeof value !== "string") {
      throw new StorageError("InvalidArgument", `Metadata value for "${key}" must be a string.`, {
        operation,
      });
    }
    bytes += key.length + encodeMetadataValue(value).length;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new StorageError(
      "InvalidArgument",
      `Metadata is ${bytes} bytes once encoded; at most ${MAX_METADATA_BYTES} are allowed.`,
      { operation },
    );
  }
}

/**
 * Header-based backends (S3, Azure) only carry ASCII in metadata, so values travel
 * percent-encoded; plain ASCII words stay readable in a bucket browser.
 */
export function encodeMetadataValue(value: string): string {
  return encodeURIComponent(value);
}

export function decodeMetadataValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Written by something other than mediagate: hand it back as stored.
    return value;
  }
}

export function encodeMetadata(metadata: Metadata): Metadata {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, encodeMetadataValue(v)]));
}

export function decodeMetadata(metadata: Record<string, string | undefined> | undefined): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v === "string") out[k.toLowerCase()] = decodeMetadataValue(v);
  }
  return out;
}
