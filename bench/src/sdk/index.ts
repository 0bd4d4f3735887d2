import type { BackendEndpoint } from "../backend.ts";
import type { BackendSdk } from "./types.ts";

export type { BackendSdk } from "./types.ts";

/**
 * Loads only the SDK the endpoint needs: the naive baseline's memory is measured, and four
 * cloud SDKs loaded at once would inflate it.
 */
export async function backendSdk(endpoint: BackendEndpoint): Promise<BackendSdk> {
  switch (endpoint.provider) {
    case "fs":
      return (await import("./fs.ts")).fsSdk(endpoint.root);
    case "s3":
      return (await import("./s3.ts")).s3Sdk(endpoint);
    case "azure":
      return (await import("./azure.ts")).azureSdk(endpoint);
    case "gcs":
      return (await import("./gcs.ts")).gcsSdk(endpoint);
  }
}
