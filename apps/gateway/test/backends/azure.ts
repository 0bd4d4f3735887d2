import { AzureBlobAdapter, findUncommittedBlocks } from "@mediagate/azure";
import { startAzurite } from "@mediagate/test-servers";
import type { BackendFixture } from "./types.ts";

const CONTAINER = "mediagate-e2e";

/**
 * Azurite in memory on a free port; the gateway reaches it with an account key and
 * AZURE_BLOB_ENDPOINT, and creates the container itself (STORAGE_CREATE_BUCKET=true).
 * 1 MiB blocks, so multi-megabyte test uploads are staged in blocks and an interrupted one
 * shows (and must clean up) uncommitted blocks.
 */
export const azureBackend: BackendFixture = {
  name: "azure",
  async start() {
    const azurite = await startAzurite();
    const observer = new AzureBlobAdapter({
      connectionString: azurite.connectionString,
      container: CONTAINER,
    });
    return {
      env: {
        STORAGE_PROVIDER: "azure",
        AZURE_STORAGE_ACCOUNT: azurite.accountName,
        AZURE_STORAGE_KEY: azurite.accountKey,
        AZURE_BLOB_ENDPOINT: azurite.blobEndpoint,
        AZURE_CONTAINER: CONTAINER,
        AZURE_BUFFER_SIZE: "1mb",
        STORAGE_CREATE_BUCKET: "true",
      },
      async inventory() {
        const objects: string[] = [];
        for await (const blob of observer.containerClient.listBlobsFlat()) objects.push(blob.name);
        return {
          objects: objects.sort(),
          leftovers: await findUncommittedBlocks(observer.containerClient),
        };
      },
      stop: () => azurite.stop(),
    };
  },
};
