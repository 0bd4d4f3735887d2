import { PutObjectTaggingCommand, type S3Client } from "@aws-sdk/client-s3";
import { encodeMetadata, StorageError, type Metadata } from "@mediagate/core";
import { finalTags, isNotImplemented } from "./final-tags.ts";
import { replaceMetadata } from "./metadata-replace.ts";

/** Where a multipart object's final metadata goes: its tags (default) or a self-copy. */
export type FinalMetadataStorage = "tags" | "copy";

export interface CompletedObject {
  bucket: string;
  key: string;
  callerKey: string;
  /** As CompleteMultipartUpload returned them. */
  etag: string | undefined;
  versionId: string | undefined;
  size: number;
  contentType: string;
  contentDisposition: string | undefined;
  /** Decoded: what the upload began with, and the merged set it must end with. */
  start: Metadata;
  final: Metadata;
  /** The upload began with the marker that sends stat and read to the tags. */
  marked: boolean;
  /** CopyObject's ceiling (5 GiB; lowered in tests). */
  maxCopyBytes: number;
  /** Told once when the store answers tagging with NotImplemented (Cloudflare R2…). */
  onTaggingUnsupported: () => void;
}

export interface Described {
  etag: string | undefined;
  /** The final metadata lives in the object's tags (stat and read merge them). */
  inTags: boolean;
}

/**
 * Gives a just-completed multipart object its final metadata. In tags when the upload was
 * marked for them and they fit S3's tag limits: one small request, whatever the object's
 * size. Otherwise (or on a store without tagging) by copying the object onto itself, which
 * takes time in proportion to its size and is refused above 5 GiB.
 */
export async function describeCompleted(
  client: S3Client,
  object: CompletedObject,
): Promise<Described> {
  const tags = object.marked ? finalTags(object.start, object.final) : undefined;
  if (tags !== undefined) {
    if (tags.length === 0) return { etag: object.etag, inTags: true };
    try {
      await client.send(
        new PutObjectTaggingCommand({
          Bucket: object.bucket,
          Key: object.key,
          VersionId: object.versionId,
          Tagging: { TagSet: tags },
        }),
      );
      return { etag: object.etag, inTags: true };
    } catch (err) {
      if (!isNotImplemented(err)) throw err;
      object.onTaggingUnsupported();
    }
  } else if (!object.marked && sameMetadata(object.final, object.start)) {
    return { etag: object.etag, inTags: false };
  }
  if (object.size > object.maxCopyBytes) {
    throw new StorageError(
      "Unsupported",
      `write "${object.callerKey}": its final metadata must be set by copying the object (the store keeps no tags, or the metadata does not fit them), which S3 allows up to ${object.maxCopyBytes} bytes; this object has ${object.size}.`,
      { operation: "write", key: object.callerKey },
    );
  }
  const etag = await replaceMetadata(client, {
    bucket: object.bucket,
    key: object.key,
    etag: object.etag,
    contentType: object.contentType,
    contentDisposition: object.contentDisposition,
    metadata: encodeMetadata(object.final),
  });
  return { etag, inTags: false };
}

function sameMetadata(a: Metadata, b: Metadata): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
