import { describeConformance } from "@mediagate/core/conformance";
import type { S3TestServer } from "@mediagate/test-servers";
import { S3Adapter } from "../src/index.ts";
import { BUCKET, adapterFor, closedPort, openUploads, startServer } from "./helpers.ts";

let server: S3TestServer;
let deadPort: number;

describeConformance({
  name: "s3 on s3rver",
  signedUrls: true,
  setup: async () => {
    server = await startServer();
    deadPort = await closedPort();
    return {
      adapter: adapterFor(server),
      // Multipart uploads s3rver still holds: every failed write must have aborted its own.
      leftovers: () => openUploads(server),
      teardown: () => server.stop(),
    };
  },
  unreachable: () =>
    new S3Adapter({
      bucket: BUCKET,
      endpoint: `http://127.0.0.1:${deadPort}`,
      forcePathStyle: true,
      credentials: { ...server.credentials },
    }),
  missingBucket: () => adapterFor(server, { bucket: "no-such-bucket" }),
});
