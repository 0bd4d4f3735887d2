import { startGcsTestServer } from "@mediagate/test-servers";
import type { BackendFixture } from "./types.ts";

const BUCKET = "mediagate-e2e";

/** The project's GCS JSON-API test server on a free port; the gateway reaches it via GCS_API_ENDPOINT. */
export const gcsBackend: BackendFixture = {
  name: "gcs",
  async start() {
    const server = await startGcsTestServer();
    return {
      // STORAGE_CREATE_BUCKET=true: the gateway's own start-up creates the bucket.
      env: {
        STORAGE_PROVIDER: "gcs",
        GCS_BUCKET: BUCKET,
        GCS_PROJECT_ID: "mediagate-e2e",
        GCS_API_ENDPOINT: server.url,
        STORAGE_CREATE_BUCKET: "true",
      },
      async inventory() {
        const objects = server
          .objects()
          .filter((name) => name.startsWith(`${BUCKET}/`))
          .map((name) => name.slice(BUCKET.length + 1));
        return { objects, leftovers: server.openSessions() };
      },
      stop: () => server.stop(),
    };
  },
};
