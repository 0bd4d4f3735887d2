import { describeConformance } from "@mediagate/core/conformance";
import { startAzurite, type AzuriteServer } from "@mediagate/test-servers";
import { AzureBlobAdapter, findUncommittedBlocks } from "../src/index.ts";
import { NO_RETRIES, deadPort, sharedKeyAdapter } from "./azurite.ts";

let azurite: AzuriteServer;
let unreachablePort: number;

describeConformance({
  name: "azure on Azurite",
  signedUrls: true,
  async setup() {
    azurite = await startAzurite();
    unreachablePort = await deadPort();
    // Small blocks, so the 12 MiB bodies take the staged-block path and aborts hit it.
    const adapter = await sharedKeyAdapter(azurite, "conformance", {
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
});
