import { describeConformance } from "@mediagate/core/conformance";
import { startAzurite, type AzuriteServer } from "@mediagate/test-servers";
import { AzureBlobAdapter, findUncommittedBlocks } from "../src/index.ts";
import { NO_RETRIES, deadPort, sharedKeyAdapter } from "./azurite.ts";

let azurite: AzuriteServer;
let unreachablePort: number;
let adapter: AzureBlobAdapter;

describeConformance({
  name: "azure on Azurite",
  signedUrls: true,
  async setup() {
    azurite = await startAzurite();
    unreachablePort = await deadPort();
    // Small blocks, so the 12 MiB bodies take the staged-block path and aborts hit it.
    adapter = await sharedKeyAdapter(azurite, "conformance", {
      bufferSize: 1024 * 1024,
      concurrency: 3,
    });
    return {
      adapter,
      leftovers: () => findUncommittedBlocks(adapter.containerClient),
      teardown: () => azurite.stop(),
    };
  },
  unreachable: () =>
    new AzureBlobAdapter({
      accountName: azurite.accountName,
      accountKey: azurite.accountKey,
      endpoint: `http://127.0.0.1:${unreachablePort}/${azurite.accountName}`,
      container: "conformance",
      pipeline: NO_RETRIES,
    }),
  missingBucket: () =>
    new AzureBlobAdapter({
      connectionString: azurite.connectionString,
      container: "no-such-container",
      pipeline: NO_RETRIES,
    }),
  prefixed: (prefix) => sharedKeyAdapter(azurite, "conformance", { prefix }),
  // A write whose process died after staging a block: a name with uncommitted blocks only.
  abandonedUploads: {
    abandon: async (key) => {
      const id = Buffer.from("abandoned-block-0").toString("base64");
      await adapter.containerClient
        .getBlockBlobClient(key)
        .stageBlock(id, Buffer.alloc(1024, 1), 1024);
    },
  },
  // Straight through the SDK: names the adapter itself would refuse.
  rawObjects: {
    put: async (name, bytes) => {
      await adapter.containerClient.getBlockBlobClient(name).uploadData(bytes);
    },
    remove: async (name) => {
      await adapter.containerClient.getBlobClient(name).deleteIfExists();
    },
  },
});
