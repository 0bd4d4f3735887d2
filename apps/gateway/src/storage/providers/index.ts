import { azureProvider } from "./azure.ts";
import { fsProvider } from "./fs.ts";
import { gcsProvider } from "./gcs.ts";
import { s3Provider } from "./s3.ts";
import type { ProviderName, StorageProvider } from "./types.ts";

/**
 * STORAGE_PROVIDER values and the backend each one selects. Adding a backend is one import
 * and one line here. Provider modules import their adapter package inside `create()`, so
 * the gateway loads only the SDK of the backend it runs on.
 */
export const providers: Readonly<Partial<Record<ProviderName, StorageProvider>>> = {
  fs: fsProvider,
  azure: azureProvider,
  gcs: gcsProvider,
  s3: s3Provider,
};

export type { ProviderName, StorageProvider } from "./types.ts";
