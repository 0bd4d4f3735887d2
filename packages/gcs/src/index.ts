export { DEFAULT_ABORT_GRACE_MS, GcsAdapter } from "./gcs-adapter.ts";
export type { GcsAdapterConfig, GcsAdapterFromClient, GcsAdapterTuning } from "./gcs-adapter.ts";
export { parseCredentials } from "./credentials.ts";
export type { GoogleCredentials } from "./credentials.ts";
export { classifyGcsError } from "./errors.ts";
