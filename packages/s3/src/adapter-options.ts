import type { S3Client } from "@aws-sdk/client-s3";
import { StorageError } from "@mediagate/core";
import type { S3ConnectionOptions } from "./config.ts";
import type { FinalMetadataStorage } from "./describe-completed.ts";

/** S3 refuses smaller parts (except the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's ceiling for one part. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/**
 * S3's smallest part, 4 in flight: about 25 MiB of part buffers per upload. A gateway streams
 * from many phones at once, each slower than one part request to S3, so memory per upload
 * counts for more than the few requests larger parts would save.
 */
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 4;
/**
 * Once a write stops, how long a PutObject or CompleteMultipartUpload already sent may still
 * answer before it is cut off. A healthy store answers in well under a second once it has
 * the body; a store that says nothing for this long is most likely stalled.
 */
export const DEFAULT_ABORT_GRACE_MS = 3_000;

export interface S3AdapterOptions extends S3ConnectionOptions {
  bucket: string;
  /** Namespace inside the bucket ("tenant-a/media"); callers only ever see their own keys. */
  prefix?: string;
  /**
   * Bytes per multipart part (default and least 5 MiB). Bodies up to one part go up as
   * a single PutObject. Grows automatically when a declared contentLength needs more than
   * 10,000 parts.
   */
  partSize?: number;
  /** Parts uploaded at once (default 4). Memory per write ≈ partSize × (queueSize + 1). */
  queueSize?: number;
  /**
   * Where the metadata a multipart upload only knows at its end (`finalMetadata`) is kept:
   * `tags` (default) in object tags, set in one small request after completion and merged
   * back by stat and read; `copy` by copying the object onto itself, which takes time in
   * proportion to its size and stops at 5 GiB. Stores without tagging (Cloudflare R2) are
   * detected on the first such write and copied from then on.
   */
  finalMetadataStorage?: FinalMetadataStorage;
  /**
   * After an abort or failure, milliseconds a PutObject or CompleteMultipartUpload already
   * on the wire may still answer, so that what it stored is deleted after it (default 3 s).
   */
  abortGraceMs?: number;
  /**
   * An existing client to use instead of building one; the connection options must then be
   * left out (they would be silently ignored otherwise). Its checksum settings are its own.
   */
  client?: S3Client;
  /**
   * Called when a failed write could not clean up after itself (the store was unreachable by
   * then): its multipart upload (`uploadId`) holds storage until a lifecycle rule removes
   * it, or, without `uploadId`, a PutObject that went unanswered may have left an object
   * that could not be deleted. Defaults to a process warning.
   */
  onCleanupFailure?: (
    error: unknown,
    upload: { bucket: string; key: string; uploadId?: string },
  ) => void;
}

const CONNECTION_OPTION_NAMES = [
  "region",
  "endpoint",
  "forcePathStyle",
  "credentials",
  "checksum",
  "maxAttempts",
  "retryMode",
  "connectionTimeoutMs",
] as const satisfies readonly (keyof S3ConnectionOptions)[];

export function configError(message: string): StorageError {
  return new StorageError("InvalidArgument", message, { operation: "configure" });
}

export function defaultCleanupWarning(
  error: unknown,
  upload: { bucket: string; key: string; uploadId?: string },
): void {
  const reason = error instanceof Error ? error.message : String(error);
  const where = `s3://${upload.bucket}/${upload.key}`;
  process.emitWarning(
    upload.uploadId === undefined
      ? `Could not delete ${where} after a failed write whose PutObject went unanswered (${reason}); the store may hold it.`
      : `Could not abort multipart upload ${upload.uploadId} of ${where} after a failed write (${reason}); ` +
          "its parts stay billed until a lifecycle rule (AbortIncompleteMultipartUpload) removes them.",
    { code: "MEDIAGATE_S3_CLEANUP" },
  );
}

export interface CheckedSettings {
  partSize: number;
  queueSize: number;
  abortGraceMs: number;
  finalMetadataStorage: FinalMetadataStorage;
}

/** The adapter's own settings, checked before anything is built. */
export function checkedSettings(options: S3AdapterOptions): CheckedSettings {
  if (typeof options.bucket !== "string" || options.bucket === "") {
    throw configError("bucket is required.");
  }
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw configError(
      `partSize must be a whole number of bytes from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE} (5 GiB).`,
    );
  }
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (!Number.isSafeInteger(queueSize) || queueSize < 1 || queueSize > 64) {
    throw configError("queueSize must be a whole number from 1 to 64.");
  }
  const abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  if (!Number.isSafeInteger(abortGraceMs) || abortGraceMs < 0 || abortGraceMs > 600_000) {
    throw configError("abortGraceMs must be a whole number of milliseconds from 0 to 600000.");
  }
  const storage = options.finalMetadataStorage ?? "tags";
  if (storage !== "tags" && storage !== "copy") {
    throw configError(
      `finalMetadataStorage must be "tags" or "copy"; got ${JSON.stringify(storage)}.`,
    );
  }
  if (options.client) {
    const conflicting = CONNECTION_OPTION_NAMES.filter((name) => options[name] !== undefined);
    if (conflicting.length > 0) {
      throw configError(
        `Pass either client or connection options, not both (got ${conflicting.join(", ")}).`,
      );
    }
  }
  return { partSize, queueSize, abortGraceMs, finalMetadataStorage: storage };
}
