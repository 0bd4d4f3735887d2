import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { isValidKey, type KeyPrefix } from "@mediagate/core";

export interface AbandonedUploadsScope {
  client: S3Client;
  bucket: string;
  prefix: KeyPrefix;
  /** Uploads initiated before this moment count as abandoned. */
  before: Date;
  signal: AbortSignal | undefined;
  /** Uploads per listing page (S3's default and most: 1000). */
  pageSize?: number;
}

/**
 * Lists the multipart uploads under the adapter's prefix (ListMultipartUploads, a page of
 * up to 1000 at a time) and aborts each one initiated before `before`. Only uploads for
 * names that are valid keys once the prefix is stripped: the adapter never begins others,
 * so other tools' uploads in a shared bucket with odd names are left alone. An upload that
 * is gone by the time it is aborted (completed or aborted elsewhere) is not counted.
 */
export async function abortAbandonedUploads(scope: AbandonedUploadsScope): Promise<number> {
  const { client, bucket, signal } = scope;
  let removed = 0;
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  do {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: scope.prefix.apply(""),
        MaxUploads: scope.pageSize,
        KeyMarker,
        UploadIdMarker,
      }),
      { abortSignal: signal },
    );
    for (const upload of page.Uploads ?? []) {
      const { Key, UploadId, Initiated } = upload;
      if (Key === undefined || UploadId === undefined || Initiated === undefined) continue;
      const key = scope.prefix.strip(Key);
      if (key === undefined || !isValidKey(key) || Initiated >= scope.before) continue;
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }), {
          abortSignal: signal,
        });
        removed += 1;
      } catch (err) {
        if ((err as { name?: unknown }).name !== "NoSuchUpload") throw err;
      }
    }
    const more = page.IsTruncated === true;
    KeyMarker = more ? page.NextKeyMarker : undefined;
    UploadIdMarker = more ? page.NextUploadIdMarker : undefined;
  } while (KeyMarker !== undefined);
  return removed;
}
