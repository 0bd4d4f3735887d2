import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { StorageError, type Metadata } from "@mediagate/core";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { CLEANUP_TIMEOUT_MS, UploadRequests } from "./upload-requests.ts";

/** S3 allows at most 10,000 parts per multipart upload. */
const MAX_PARTS = 10_000;

export interface StreamingUploadInput {
  client: S3Client;
  bucket: string;
  /** The S3 key (prefix already applied). */
  key: string;
  /** The key as the caller named it, for error messages. */
  callerKey: string;
  body: Readable;
  contentType: string;
  contentDisposition: string | undefined;
  contentLength: number | undefined;
  /** Already encoded for headers. */
  metadata: Metadata;
  partSize: number;
  queueSize: number;
  signal: AbortSignal;
  /** Told when an upload could not be cleaned up after a failure (the error is not lost). */
  onCleanupFailure: (error: unknown, upload: { key: string; uploadId: string }) => void;
}

export interface StreamingUploadResult {
  etag: string | undefined;
  size: number;
}

/**
 * The configured part size, raised just enough for a declared length to fit S3's 10,000
 * parts. (A body of unknown length is capped at 10,000 × partSize: 48.8 GiB at 5 MiB.)
 */
export function choosePartSize(configured: number, contentLength: number | undefined): number {
  if (contentLength === undefined) return configured;
  return Math.max(configured, Math.ceil(contentLength / MAX_PARTS));
}

/**
 * Counts the body's bytes on their way to lib-storage and, when the caller declared a
 * length, refuses a body that turns out longer or shorter before its last part is sent
 * (a truncated body must never complete into an object).
 */
class ByteCounter extends Transform {
  bytes = 0;
  private readonly expected: number | undefined;
  private readonly key: string;

  constructor(expected: number | undefined, key: string) {
    super();
    this.expected = expected;
    this.key = key;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) callback(this.mismatch());
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) callback(this.mismatch());
    else callback();
  }

  private mismatch(): StorageError {
    const how = this.bytes > (this.expected ?? 0) ? "is longer" : "ended shorter";
    return new StorageError(
      "InvalidArgument",
      `write "${this.key}": the body ${how} than the declared contentLength of ${this.expected} bytes.`,
      { operation: "write", key: this.key },
    );
  }
}

/**
 * Streams a body into one object with lib-storage: a single PutObject when it fits one part,
 * a multipart upload above. Memory stays near partSize × (queueSize + 1): queueSize parts in
 * flight and one filling. On any failure or abort the body is destroyed, requests in flight
 * are cancelled, and the multipart upload is aborted once nothing is in flight, before this
 * rejects.
 */
export async function streamingUpload(input: StreamingUploadInput): Promise<StreamingUploadResult> {
  const { client, bucket, key, signal } = input;
  const requests = new UploadRequests(client);
  const counter = new ByteCounter(input.contentLength, input.callerKey);
  // Not pipeline(): it would destroy the body *with an error* when the write stops, and the
  // caller would take the write's own failure for a failure of its body.
  input.body.pipe(counter);
  input.body.on("error", (err) => counter.destroy(err));
  counter.on("error", (err) => requests.stop(err));

  const partSize = choosePartSize(input.partSize, input.contentLength);
  const upload = new Upload({
    client: requests.client,
    params: {
      Bucket: bucket,
      Key: key,
      Body: counter,
      ContentType: input.contentType,
      ContentDisposition: input.contentDisposition,
      Metadata: input.metadata,
    },
    partSize,
    queueSize: input.queueSize,
    // This module aborts the upload itself, after every request in flight has ended.
    leavePartsOnError: true,
  });

  const onCallerAbort = () => requests.stop(signal.reason);
  signal.addEventListener("abort", onCallerAbort, { once: true });
  requests.onStop(() => {
    void upload.abort();
    input.body.unpipe(counter);
    input.body.destroy();
    counter.destroy();
  });
  try {
    if (signal.aborted) onCallerAbort();
    const result = await upload.done();
    return { etag: result.ETag, size: counter.bytes };
  } catch (err) {
    requests.stop(err);
    await requests.settled();
    await discard(input, requests);
    throw requests.stopReason ?? err;
  } finally {
    signal.removeEventListener("abort", onCallerAbort);
  }
}

/**
 * Leaves nothing behind once every request of the write has ended. A CreateMultipartUpload
 * that timed out may still have opened an upload whose id never arrived: that one only a
 * lifecycle rule (AbortIncompleteMultipartUpload) can remove.
 */
async function discard(input: StreamingUploadInput, requests: UploadRequests): Promise<void> {
  const { client, bucket, key } = input;
  const uploadId = requests.uploadId;
  if (uploadId === undefined) return;
  const send = { abortSignal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) };
  const deleteObject = () =>
    client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), send);
  try {
    if (requests.completed) {
      // Completion won the race with the failure: the object is this failed write's.
      await deleteObject();
      return;
    }
    try {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
        send,
      );
    } catch (err) {
      // A cancelled completion may have finished on the server all the same.
      if (!(requests.completeSent && errorName(err) === "NoSuchUpload")) throw err;
      await deleteObject();
    }
  } catch (err) {
    input.onCleanupFailure(err, { key, uploadId });
  }
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}
