import { describeConformance } from "@mediagate/core/conformance";
import { describe } from "vitest";
import { GcsAdapter } from "../src/index.ts";
import { TEST_PROJECT } from "./helpers.ts";

/**
 * The same suite against a real fake-gcs-server (docker-compose's `fake-gcs` service):
 *
 *   docker compose up -d fake-gcs
 *   GCS_EMULATOR_HOST=http://localhost:4443 npx vitest run test/fake-gcs-server.test.ts
 *
 * Skipped, and reported as skipped, when GCS_EMULATOR_HOST is not set. fake-gcs-server
 * exposes no list of open resumable sessions and does not verify signatures, so this run
 * checks no session debris and (without credentials) no signed URLs.
 */
const host = process.env.GCS_EMULATOR_HOST;
const endpoint = host && (/^https?:\/\//.test(host) ? host : `http://${host}`);

describe.skipIf(!endpoint)("fake-gcs-server (GCS_EMULATOR_HOST)", () => {
  describeConformance({
    name: "gcs (fake-gcs-server)",
    signedUrls: false,
    async setup() {
      const adapter = new GcsAdapter({
        bucket: `mediagate-conformance-${Date.now().toString(36)}`,
        projectId: TEST_PROJECT,
        apiEndpoint: endpoint ?? "",
        singleRequestMaxBytes: 1024 * 1024,
        chunkSize: 2 * 1024 * 1024,
      });
      await adapter.ensureBucket();
      return { adapter };
    },
    missingBucket: () =>
      new GcsAdapter({
        bucket: "mediagate-no-such-bucket",
        projectId: TEST_PROJECT,
        apiEndpoint: endpoint ?? "",
      }),
  });
});
