import type { StorageAdapter } from "@mediagate/core";
import type { z } from "zod";

export type ProviderName = "fs" | "s3" | "gcs" | "azure";

/**
 * One storage backend as the gateway sees it: the environment variables it reads (validated
 * only when STORAGE_PROVIDER selects it) and how to build its adapter from them. Each
 * backend lives in its own module beside this one, so adding a backend touches nothing else.
 */
export interface StorageProvider<Schema extends z.ZodType = z.ZodType> {
  readonly name: ProviderName;
  /** A zod object over process.env-style strings; errors must name the variable. */
  readonly env: Schema;
  /**
   * Builds the adapter. With `createBucket` the provider creates a missing
   * bucket/container/folder first (STORAGE_CREATE_BUCKET=true).
   */
  create(env: z.output<Schema>, options: { createBucket: boolean }): Promise<StorageAdapter>;
}
