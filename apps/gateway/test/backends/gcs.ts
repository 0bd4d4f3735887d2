import { generateKeyPairSync } from "node:crypto";
import { startGcsTestServer } from "@mediagate/test-servers";
import type { BackendFixture } from "./types.ts";

const BUCKET = "mediagate-e2e";

/** The project's GCS JSON-API test server on a free port; the gateway reaches it via GCS_API_ENDPOINT. */
export const gcsBackend: BackendFixture = {
  name: "gcs",
  async start() {
    // A throwaway service-account key the test server trusts, so the gateway can sign URLs
    // (DOWNLOAD_MODE=redirect) as it would with a real key file.
    const signer = "gateway@mediagate-e2e.iam.gserviceaccount.com";
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const server = await startGcsTestServer({ signers: { [signer]: publicKey } });
    return {
      // STORAGE_CREATE_BUCKET=true: the gateway's own start-up creates the bucket.
      env: {
        STORAGE_PROVIDER: "gcs",
        GCS_BUCKET: BUCKET,
        GCS_PROJECT_ID: "mediagate-e2e",
        GCS_API_ENDPOINT: server.url,
        GCS_CREDENTIALS: JSON.stringify({
          type: "service_account",
          project_id: "mediagate-e2e",
          private_key_id: "e2e",
          private_key: privateKey,
          client_email: signer,
          client_id: "1",
        }),
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
