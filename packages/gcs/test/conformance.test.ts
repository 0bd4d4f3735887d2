import { describeConformance } from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { GcsAdapter } from "../src/index.ts";
import { closedPort, FAST_RETRY, generateServiceAccount, TEST_PROJECT } from "./helpers.ts";

const BUCKET = "mediagate-conformance";
const MiB = 1024 * 1024;

let server: GcsTestServer | undefined;
let adapter: GcsAdapter | undefined;
/** The SDK bucket of setup's adapter, for writing names the adapter would refuse. */
const rawBucket = () => {
  if (!adapter) throw new Error("setup() has not run");
  return adapter.bucket;
};
const account = generateServiceAccount();
const deadPort = await closedPort();

describeConformance({
  name: "gcs (test server)",
  signedUrls: true,
  async setup() {
    server = await startGcsTestServer({
      buckets: [BUCKET],
      signers: { [account.email]: account.publicKey },
    });
    const live = server;
    // Small limits so the suite's multi-MiB bodies go through resumable sessions of
    // several chunks, and its mid-stream aborts land while a session is open.
    adapter = new GcsAdapter({
      bucket: BUCKET,
      projectId: TEST_PROJECT,
      apiEndpoint: live.url,
      credentials: account.credentials,
      singleRequestMaxBytes: 1 * MiB,
      chunkSize: 2 * MiB,
    });
    return {
      adapter,
      leftovers: async () => live.openSessions(),
      teardown: () => live.stop(),
    };
  },
  unreachable: () =>
    new GcsAdapter({
      bucket: BUCKET,
      projectId: TEST_PROJECT,
      apiEndpoint: `http://127.0.0.1:${deadPort}`,
      retry: FAST_RETRY,
    }),
  missingBucket: () =>
    new GcsAdapter({
      bucket: "no-such-bucket",
      projectId: TEST_PROJECT,
      apiEndpoint: server?.url ?? "",
    }),
  prefixed: (prefix) =>
    new GcsAdapter({
      bucket: BUCKET,
      projectId: TEST_PROJECT,
      apiEndpoint: server?.url ?? "",
      prefix,
    }),
  // Straight through the SDK: names the adapter itself would refuse.
  rawObjects: {
    put: async (name, bytes) => {
      await rawBucket().file(name).save(bytes, { resumable: false });
    },
    remove: async (name) => {
      await rawBucket().file(name).delete({ ignoreNotFound: true });
    },
  },
});
