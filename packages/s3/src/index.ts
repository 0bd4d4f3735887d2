export {
  S3Adapter,
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  type S3AdapterOptions,
} from "./s3-adapter.ts";
export type { FinalMetadataStorage } from "./describe-completed.ts";
export {
  CHECKSUM_MODES,
  RETRY_MODES,
  type RetryMode,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  createS3Client,
  type ChecksumMode,
  type S3ConnectionOptions,
} from "./config.ts";
export { classifyS3Error } from "./errors.ts";
