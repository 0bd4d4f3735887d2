import { S3Client } from "@aws-sdk/client-s3";
import { StorageError } from "@mediagate/core";

/**
 * How the SDK uses the flexible checksums it adds by default since early 2025:
 * - `when-required` (default): only where an operation demands one. Plain PUTs with a
 *   Content-Length and a SigV4 payload hash, which every S3-compatible store accepts
 *   (MinIO, R2, Wasabi, Spaces, Ceph, s3rver) as well as AWS.
 * - `when-supported`: CRC32 on every upload and response validation; AWS and stores that
 *   implement the 2025 checksum headers only.
 */
export type ChecksumMode = "when-required" | "when-supported";

export const CHECKSUM_MODES: readonly ChecksumMode[] = ["when-required", "when-supported"];

/**
 * The SDK's retry modes. `adaptive` (default) is `standard` (exponential back-off with
 * jitter, a retry quota) plus a client-side rate limiter that slows every request of the
 * client down when the store throttles (503 SlowDown, 429…), and speeds up again as they
 * succeed: what S3's guidance asks of clients that hit a prefix's request rate.
 */
export type RetryMode = "standard" | "adaptive";

export const RETRY_MODES: readonly RetryMode[] = ["standard", "adaptive"];

/** Where and how to connect; used when the adapter builds its own S3Client. */
export interface S3ConnectionOptions {
  /** AWS region; defaults to the SDK's chain (AWS_REGION, profile), or us-east-1 with an endpoint. */
  region?: string;
  /** A non-AWS endpoint: `http://minio:9000`, `https://<account>.r2.cloudflarestorage.com`… */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted stores need. */
  forcePathStyle?: boolean;
  /** Static keys; without them the AWS default credential chain applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  checksum?: ChecksumMode;
  /** Attempts per request, retries included (SDK default 3). */
  maxAttempts?: number;
  /** How throttling and transient failures are retried (default `adaptive`). */
  retryMode?: RetryMode;
  /** Milliseconds to wait for a TCP connection before trying again (default 10 s). */
  connectionTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

/** Builds the S3Client an S3Adapter uses when it is not handed one. */
export function createS3Client(options: S3ConnectionOptions = {}): S3Client {
  const checksum = options.checksum ?? "when-required";
  if (!CHECKSUM_MODES.includes(checksum)) {
    throw new StorageError(
      "InvalidArgument",
      `checksum must be one of ${CHECKSUM_MODES.join(", ")}; got ${JSON.stringify(checksum)}.`,
      { operation: "configure" },
    );
  }
  const sdkChecksum = checksum === "when-supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  const retryMode = options.retryMode ?? "adaptive";
  if (!RETRY_MODES.includes(retryMode)) {
    throw new StorageError(
      "InvalidArgument",
      `retryMode must be one of ${RETRY_MODES.join(", ")}; got ${JSON.stringify(retryMode)}.`,
      { operation: "configure" },
    );
  }
  return new S3Client({
    region: options.region ?? (options.endpoint ? "us-east-1" : undefined),
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    maxAttempts: options.maxAttempts,
    retryMode,
    requestChecksumCalculation: sdkChecksum,
    responseChecksumValidation: sdkChecksum,
    // No socket idle timeout: a download paused by a slow reader must not be cut off.
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    },
  });
}
