export {
  S3Adapter,
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  type S3AdapterOptions,
} from "./s3-adapter.ts";
export {
  CHECKSUM_MODES,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  createS3Client,
  type ChecksumMode,
  type S3ConnectionOptions,
} from "./config.ts";
export { classifyS3Error } from "./errors.ts";
