import { describeConformance } from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { GcsAdapter } from "../src/index.ts";
import { closedPort, FAST_RETRY, generateServiceAccount, TEST_PROJECT } from "./helpers.ts";

const BUCKET = "mediagate-conformance";
const MiB = 1024 * 1024;

let server: GcsTestServer | undefined;
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
    return {
      // Small limits so the suite's multi-MiB bodies go through resumable sessions of
      // several chunks, and its mid-stream aborts land while a session is open.
      adapter: new GcsAdapter({
        bucket: BUCKET,
        projectId: TEST_PROJECT,
        apiEndpoint: live.url,
        credentials: account.credentials,
        singleRequestMaxBytes: 1 * MiB,
        chunkSize: 2 * MiB,
      }),
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
});
