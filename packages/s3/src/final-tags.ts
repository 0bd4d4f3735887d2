import { GetObjectTaggingCommand, type S3Client, type Tag } from "@aws-sdk/client-s3";
import type { Metadata } from "@mediagate/core";

/**
 * Metadata known only at the end of a multipart upload, kept as object tags: S3 fixes an
 * object's own metadata when the upload begins, and changing it afterwards means copying
 * the whole object, which takes time in proportion to its size and stops at 5 GiB. A
 * PutObjectTagging after completion costs the same for 1 KiB and 1 TiB.
 *
 * The upload begins with a marker in its metadata (a key no caller can use: metadata keys
 * have no '-'), so stat and read know to fetch the tags, and only for such objects.
 */
export const FINAL_MARKER_KEY = "mediagate-final";
export const FINAL_MARKER_VALUE = "tags";
/** Tag keys are namespaced so an operator's own tags (lifecycle rules…) are left alone. */
const TAG_PREFIX = "mediagate:";
/** S3's limits: 10 tags an object, values up to 256 UTF-16 units. */
const MAX_TAGS = 10;
const MAX_TAG_VALUE = 256;
/** S3's user metadata limit (keys and values, UTF-8 bytes). */
const MAX_HEADER_METADATA_BYTES = 2048;
/**
 * Characters every S3-compatible store takes in tag values (AWS's own rule admits more
 * letters and spaces, but not all stores do); anything else is stored base64url-encoded.
 */
const SAFE_VALUE = /^[A-Za-z0-9+\-=._:/@]*$/;
const ENCODED = "b64:";

function encodeValue(value: string): string {
  return SAFE_VALUE.test(value) && !value.startsWith(ENCODED)
    ? value
    : ENCODED + Buffer.from(value, "utf8").toString("base64url");
}

function decodeValue(value: string): string {
  return value.startsWith(ENCODED)
    ? Buffer.from(value.slice(ENCODED.length), "base64url").toString("utf8")
    : value;
}

/** Whether the marker still fits beside `metadata` (encoded) in S3's 2 KB of headers. */
export function markerFits(metadata: Metadata): boolean {
  let bytes = Buffer.byteLength(FINAL_MARKER_KEY) + Buffer.byteLength(FINAL_MARKER_VALUE);
  for (const [key, value] of Object.entries(metadata)) {
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  return bytes <= MAX_HEADER_METADATA_BYTES;
}

/**
 * The tag set for what the final metadata adds to or changes in the start metadata (both
 * decoded), or undefined when it does not fit S3's tag limits (then the object is copied).
 */
export function finalTags(start: Metadata, final: Metadata): Tag[] | undefined {
  const tags: Tag[] = [];
  for (const [key, value] of Object.entries(final)) {
    if (start[key] === value) continue;
    const encoded = encodeValue(value);
    if (encoded.length > MAX_TAG_VALUE) return undefined;
    tags.push({ Key: TAG_PREFIX + key, Value: encoded });
  }
  return tags.length <= MAX_TAGS ? tags : undefined;
}

/** The metadata kept in an object's tags (only the adapter's own, decoded). */
export function metadataFromTags(tags: readonly Tag[] | undefined): Metadata {
  const metadata: Metadata = {};
  for (const { Key, Value } of tags ?? []) {
    if (Key?.startsWith(TAG_PREFIX))
      metadata[Key.slice(TAG_PREFIX.length)] = decodeValue(Value ?? "");
  }
  return metadata;
}

/** Whether an object's (raw, header) metadata says its final metadata is in its tags. */
export function hasFinalTags(headers: Record<string, string> | undefined): boolean {
  return headers?.[FINAL_MARKER_KEY] === FINAL_MARKER_VALUE;
}

/**
 * The object's metadata with what its tags hold merged over it, and the marker removed.
 * A store that keeps no tags (it answers NotImplemented) has nothing to merge.
 */
export async function withFinalTags(
  client: S3Client,
  where: { bucket: string; key: string; versionId: string | undefined },
  headers: Record<string, string> | undefined,
  signal: AbortSignal | undefined,
): Promise<Record<string, string> | undefined> {
  if (!hasFinalTags(headers)) return headers;
  const { [FINAL_MARKER_KEY]: _marker, ...rest } = headers ?? {};
  let tags: Tag[] | undefined;
  try {
    ({ TagSet: tags } = await client.send(
      new GetObjectTaggingCommand({
        Bucket: where.bucket,
        Key: where.key,
        VersionId: where.versionId,
      }),
      { abortSignal: signal },
    ));
  } catch (err) {
    if (!isNotImplemented(err)) throw err;
  }
  // Header values are percent-encoded (core's encodeMetadata); tag values are decoded here.
  const merged: Record<string, string> = { ...rest };
  for (const [key, value] of Object.entries(metadataFromTags(tags))) {
    merged[key] = encodeURIComponent(value);
  }
  return merged;
}

/** The store does not implement the operation (R2 and others answer tagging with 501). */
export function isNotImplemented(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  return e?.name === "NotImplemented" || e?.$metadata?.httpStatusCode === 501;
}
