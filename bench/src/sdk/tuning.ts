import { MiB } from "../units.ts";

/**
 * How the direct-SDK reference drives each SDK: the same part, block and chunk sizes the
 * mediagate adapters default to, so "gateway ÷ direct SDK" measures the gateway and its
 * adapter, not a difference in tuning.
 */
export const SDK_TUNING = {
  s3: { partSize: 8 * MiB, queueSize: 4 },
  /** Bodies up to one block go up as a single Put Blob, larger ones as staged blocks. */
  azure: { bufferSize: 4 * MiB, maxConcurrency: 4 },
  /** Bodies up to the threshold go up in one multipart request, larger ones resumable. */
  gcs: { singleRequestMaxBytes: 8 * MiB, chunkSize: 8 * MiB },
} as const;
