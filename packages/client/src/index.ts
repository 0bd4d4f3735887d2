export { upload } from "./upload.ts";
export {
  mesiboUploadHandler,
  readMesiboFile,
  type MesiboFile,
  type MesiboUploadCallback,
  type MesiboUploadHandler,
  type MesiboUploadHandlerOptions,
} from "./mesibo.ts";
export {
  UploadError,
  isUploadError,
  CLIENT_ERROR_CODES,
  GATEWAY_ERROR_CODES,
  RETRYABLE_STATUSES,
  type ClientErrorCode,
  type GatewayErrorCode,
  type UploadErrorCode,
  type UploadErrorDetails,
} from "./errors.ts";
export { parseRetryAfter } from "./retry.ts";
export type {
  MesiboId,
  RetryInfo,
  RetryOptions,
  TokenRequest,
  UploadOptions,
  UploadProgress,
  UploadResult,
} from "./options.ts";
