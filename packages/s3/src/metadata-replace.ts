import { CopyObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Metadata } from "@mediagate/core";

/**
 * The largest object CopyObject accepts. A multipart-uploaded object whose metadata is only
 * known at its end is re-described by copying it onto itself, so with `finalMetadata` a
 * body may not pass this size (a larger one would need a multipart copy, UploadPartCopy).
 */
export const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;

/**
 * `x-amz-copy-source` names the source as `bucket/key`, URL-encoded. Each segment is
 * encoded on its own so `/` stays a separator, and encodeURIComponent turns '+' into %2B:
 * a raw '+' would be read back as a space (the classic copy bug), and spaces and non-ASCII
 * must not travel raw in a header.
 */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

export interface ReplaceMetadataInput {
  bucket: string;
  key: string;
  /** The ETag (as S3 returned it) of the object the upload just completed. */
  etag: string | undefined;
  contentType: string;
  contentDisposition: string | undefined;
  /** Already encoded for headers. */
  metadata: Metadata;
}

/**
 * Sets the metadata of the object a multipart upload just completed: CompleteMultipartUpload
 * cannot carry metadata, so the object is copied onto itself with MetadataDirective REPLACE
 * (REPLACE drops every header not restated, so content type and disposition go along). The
 * ETag precondition makes sure it is our upload that gets re-described, never an object
 * another writer put there meanwhile. Resolves with the copy's ETag.
 */
export async function replaceMetadata(
  client: S3Client,
  input: ReplaceMetadataInput,
): Promise<string | undefined> {
  const out = await client.send(
    new CopyObjectCommand({
      Bucket: input.bucket,
      Key: input.key,
      CopySource: copySource(input.bucket, input.key),
      ...(input.etag !== undefined && { CopySourceIfMatch: input.etag }),
      MetadataDirective: "REPLACE",
      Metadata: input.metadata,
      ContentType: input.contentType,
      ContentDisposition: input.contentDisposition,
    }),
  );
  return out.CopyObjectResult?.ETag;
}
