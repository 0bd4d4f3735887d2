import { createServer } from "node:net";
import { supportsSignedUrls, type SignedUrlCapable } from "@mediagate/core";
import { AzureBlobAdapter, type AzureBlobTuning } from "../src/index.ts";
import type { AzuriteServer } from "@mediagate/test-servers";

/** One try per request: the SDK's default back-off would stretch failure tests to minutes. */
export const NO_RETRIES = { retryOptions: { maxTries: 1 } };

/**
 * The working adapter retries as in production, with back-offs of milliseconds: Azurite
 * now and then resets a kept-alive connection as the SDK reuses it (ECONNRESET on a block
 * PUT), which the SDK's default policy retries and a single try turned into a failed test.
 */
export const QUICK_RETRIES = {
  retryOptions: { maxTries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 100 },
};

/** A shared-key adapter on a fresh container of `azurite`, created if missing. */
export async function sharedKeyAdapter(
  azurite: AzuriteServer,
  container: string,
  tuning: AzureBlobTuning = {},
): Promise<AzureBlobAdapter> {
  const adapter = new AzureBlobAdapter({
    accountName: azurite.accountName,
    accountKey: azurite.accountKey,
    endpoint: azurite.blobEndpoint,
    container,
    pipeline: QUICK_RETRIES,
    ...tuning,
  });
  await adapter.createContainerIfMissing();
  return adapter;
}

/** A loopback port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** The adapter as a signer; fails the test when its credentials cannot sign. */
export function signing(adapter: AzureBlobAdapter): AzureBlobAdapter & SignedUrlCapable {
  if (!supportsSignedUrls(adapter))
    throw new Error(`A ${adapter.credentialKind} adapter cannot sign URLs.`);
  return adapter;
}
