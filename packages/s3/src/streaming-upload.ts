import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { encodeMetadata, StorageError, type Metadata } from "@mediagate/core";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { describeCompleted, type FinalMetadataStorage } from "./describe-completed.ts";
import { FINAL_MARKER_KEY, FINAL_MARKER_VALUE, markerFits } from "./final-tags.ts";
import { MAX_COPY_BYTES } from "./metadata-replace.ts";
import { MAX_PARTS, sendParts } from "./send-parts.ts";
import { CLEANUP_TIMEOUT_MS, UploadRequests } from "./upload-requests.ts";

/** How long the delete after a PutObject that went unanswered may take. */
const PUT_CLEANUP_TIMEOUT_MS = 3_000;

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
  /** What is known up front (decoded; encoded here for headers). */
  metadata: Metadata;
  /**
   * The whole metadata to store once the body has ended, merged and checked (decoded);
   * undefined when it is all known up front. Called once the body has ended and before the
   * object is created (a single PutObject) or completed (multipart, which then stores it
   * in tags, or by copying the object: see `describeCompleted`).
   */
  finalMetadata: (() => Metadata) | undefined;
  /** Where a multipart object's final metadata goes (default tags). */
  finalMetadataStorage?: FinalMetadataStorage;
  /** Told once when the store turns out to keep no tags; the write copies instead. */
  onTaggingUnsupported?: () => void;
  partSize: number;
  queueSize: number;
  signal: AbortSignal;
  /** How long a request that makes the object may still answer after the write stops. */
  abortGraceMs: number;
  /** Overrides MAX_COPY_BYTES, for tests of the limit. */
  maxCopyBytes?: number;
  /** Told when an upload could not be cleaned up after a failure (the error is not lost). */
  onCleanupFailure: (error: unknown, upload: { key: string; uploadId?: string }) => void;
}

export interface StreamingUploadResult {
  etag: string | undefined;
  size: number;
  /** The final metadata is in the object's tags, not its own metadata. */
  finalInTags: boolean;
}

/**
 * The configured part size, raised just enough for a declared length to fit S3's 10,000
 * parts. (A body of unknown length is capped at 10,000 × partSize: 48.8 GiB at 5 MiB.)
 */
export function choosePartSize(configured: number, contentLength: number | undefined): number {
  if (contentLength === undefined) return configured;
  return Math.max(configured, Math.ceil(contentLength / MAX_PARTS));
}

function copyLimitError(key: string, maxBytes: number): StorageError {
  return new StorageError(
    "Unsupported",
    `write "${key}": with finalMetadataStorage "copy", metadata known only at the end of the body (finalMetadata) is set by copying the object, which S3 allows up to ${maxBytes} bytes; this body is larger.`,
    { operation: "write", key },
  );
}

/**
 * Counts the body's bytes on their way to the parts and, when the caller declared a
 * length, refuses a body that turns out longer or shorter before its last part is sent
 * (a truncated body must never complete into an object).
 */
class ByteCounter extends Transform {
  bytes = 0;
  private readonly expected: number | undefined;
  private readonly key: string;
  private readonly maxBytes: number;

  constructor(expected: number | undefined, key: string, maxBytes = Infinity) {
    super();
    this.expected = expected;
    this.key = key;
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) callback(this.mismatch());
    else if (this.bytes > this.maxBytes) callback(copyLimitError(this.key, this.maxBytes));
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
 * Streams a body into one object: a single PutObject when it fits one part, a multipart
 * upload above (see `sendParts`). Memory stays near partSize × (queueSize + 1): queueSize
 * parts in flight and one filling. On any failure or abort the body is destroyed, requests
 * in flight are cancelled, and the multipart upload is aborted once nothing is in flight,
 * before this rejects.
 */
export async function streamingUpload(input: StreamingUploadInput): Promise<StreamingUploadResult> {
  const { client, bucket, key, signal } = input;
  const requests = new UploadRequests(client, input.abortGraceMs);
  const maxCopyBytes = input.maxCopyBytes ?? MAX_COPY_BYTES;
  const storage = input.finalMetadataStorage ?? "tags";
  // Only an explicit copy is bound by CopyObject's limit up front; tags have none.
  const maxBytes = input.finalMetadata && storage === "copy" ? maxCopyBytes : Infinity;
  if (input.contentLength !== undefined && input.contentLength > maxBytes) {
    // Refused before any request: the copy that would set the metadata cannot happen.
    throw copyLimitError(input.callerKey, maxBytes);
  }
  const headers = encodeMetadata(input.metadata);
  const marked = input.finalMetadata !== undefined && storage === "tags" && markerFits(headers);
  const counter = new ByteCounter(input.contentLength, input.callerKey, maxBytes);
  let finalMetadata: Metadata | undefined;
  requests.beforeSend = (command) => {
    if (!input.finalMetadata) return;
    // Both are only ever sent once the body has ended: a single PutObject carries the final
    // metadata itself; for a multipart upload it is resolved (and may refuse the write)
    // before completion, so a refusal leaves no object, and stored right after it.
    if (command instanceof PutObjectCommand) {
      command.input.Metadata = encodeMetadata(input.finalMetadata());
    } else if (command instanceof CompleteMultipartUploadCommand) {
      finalMetadata = input.finalMetadata();
    }
  };
  // Not pipeline(): it would destroy the body *with an error* when the write stops, and the
  // caller would take the write's own failure for a failure of its body.
  input.body.pipe(counter);
  input.body.on("error", (err) => counter.destroy(err));
  counter.on("error", (err) => requests.stop(err));

  const onCallerAbort = () => requests.stop(signal.reason);
  signal.addEventListener("abort", onCallerAbort, { once: true });
  requests.onStop(() => {
    input.body.unpipe(counter);
    input.body.destroy();
    counter.destroy();
  });
  let replaced = false;
  try {
    if (signal.aborted) onCallerAbort();
    const result = await sendParts(requests, counter, {
      bucket,
      key,
      contentType: input.contentType,
      contentDisposition: input.contentDisposition,
      metadata: marked ? { ...headers, [FINAL_MARKER_KEY]: FINAL_MARKER_VALUE } : headers,
      partSize: choosePartSize(input.partSize, input.contentLength),
      queueSize: input.queueSize,
      callerKey: input.callerKey,
    });
    // A request that made the object may have answered after the write was stopped.
    if (requests.stopped) throw requests.stopReason;
    let described = { etag: result.ETag, inTags: false };
    if (finalMetadata !== undefined) {
      // Through `requests`, so an abort cancels it and a failure deletes the object below.
      described = await describeCompleted(requests.client, {
        bucket,
        key,
        callerKey: input.callerKey,
        etag: result.ETag,
        versionId: result.VersionId,
        size: counter.bytes,
        contentType: input.contentType,
        contentDisposition: input.contentDisposition,
        start: input.metadata,
        final: finalMetadata,
        marked,
        maxCopyBytes,
        onTaggingUnsupported: () => input.onTaggingUnsupported?.(),
      }).catch((err: unknown) => {
        if (!replacedMeanwhile(err)) throw err;
        replaced = true;
        throw new StorageError(
          "Internal",
          `write "${input.callerKey}": another write replaced or deleted the object before its metadata could be set; that write's object is left as it is.`,
          { operation: "write", key: input.callerKey, cause: err },
        );
      });
      if (requests.stopped) throw requests.stopReason;
    }
    return { etag: described.etag, size: counter.bytes, finalInTags: described.inTags };
  } catch (err) {
    requests.stop(err);
    await requests.settled();
    // After a lost precondition the object under the key is another writer's: not ours to delete.
    if (!replaced) await discard(input, requests);
    throw replaced ? err : (requests.stopReason ?? err);
  } finally {
    signal.removeEventListener("abort", onCallerAbort);
  }
}

/**
 * Leaves nothing behind once every request of the write has ended. A CreateMultipartUpload
 * that timed out may still have opened an upload whose id never arrived: that one only a
 * lifecycle rule (AbortIncompleteMultipartUpload) can remove. A PutObject or a completion
 * that went unanswered may have created the object all the same: it is deleted, which on an
 * overwrite also removes the object it may have replaced (S3 has no delete conditional on
 * what this write stored).
 */
async function discard(input: StreamingUploadInput, requests: UploadRequests): Promise<void> {
  const { client, bucket, key } = input;
  const uploadId = requests.uploadId;
  const send = { abortSignal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) };
  const deleteObject = (options = send) =>
    client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), options);
  try {
    if (uploadId === undefined) {
      // The PUT answered (within the abort grace) and made the object: it is ours to delete.
      if (requests.put) await deleteObject();
      // Briefly: the PUT most likely went unanswered because the store stalled, and then it
      // stored nothing and will not answer this either; when only the answer was lost, a
      // healthy store deletes in milliseconds.
      else if (requests.putUnanswered) {
        await deleteObject({ abortSignal: AbortSignal.timeout(PUT_CLEANUP_TIMEOUT_MS) });
      }
      return;
    }
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
    input.onCleanupFailure(err, uploadId === undefined ? { key } : { key, uploadId });
  }
}

/** The copy's source precondition failed (412) or its source was gone (404). */
function replacedMeanwhile(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return status === 412 || status === 404;
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}
