import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import type { GoogleCredentials } from "../src/index.ts";

export const TEST_PROJECT = "mediagate-test";

/** A freshly generated service-account key: signs URLs locally, nothing leaves the machine. */
export function generateServiceAccount(email = "uploader@mediagate-test.iam.gserviceaccount.com"): {
  email: string;
  credentials: GoogleCredentials;
  publicKey: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return {
    email,
    credentials: {
      type: "service_account",
      project_id: TEST_PROJECT,
      private_key_id: "test-key",
      private_key: privateKey,
      client_email: email,
      client_id: "1",
    },
    publicKey,
  };
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** SDK retries stay on (one retry), with at most a second of back-off. */
export const FAST_RETRY = { maxRetries: 1, retryDelayMultiplier: 1, maxRetryDelay: 1 };
