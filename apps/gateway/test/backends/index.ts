import { azureBackend } from "./azure.ts";
import { fsBackend } from "./fs.ts";
import { gcsBackend } from "./gcs.ts";
import { s3Backend } from "./s3.ts";
import type { BackendFixture } from "./types.ts";

/**
 * Every backend the gateway's end-to-end suite runs on: one import and one line each (kept
 * one per line, so adding a backend never rewrites another's line).
 */
// prettier-ignore
export const backends: BackendFixture[] = [
  fsBackend,
  azureBackend,
  gcsBackend,
  s3Backend,
];
