import { IdempotencyStrategy, type StorageOptions } from "@google-cloud/storage";
import { expectStorageError, patternBody, streamOf } from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GcsAdapter } from "../src/index.ts";
import { FAST_RETRY, TEST_PROJECT } from "./helpers.ts";

/**
 * GCS's answer to too many requests is 429 (rateLimitExceeded) or 503; the SDK retries
 * both with exponential back-off, but under its default strategy only requests it deems
 * idempotent, which leaves out every upload. The adapter retries them all.
 */

const BUCKET = "mediagate-retry";
const KiB = 1024;

let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsTestServer({ buckets: [BUCKET] });
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
  server.clearFaults();
});

const adapter = (retry: StorageOptions["retryOptions"] = FAST_RETRY) =>
  new GcsAdapter({
    bucket: BUCKET,
    projectId: TEST_PROJECT,
    apiEndpoint: server.url,
    singleRequestMaxBytes: 512 * KiB,
    chunkSize: 256 * KiB,
    retry,
  });

describe("GCS retries", () => {
  it("retries a single-request upload refused with 429 rateLimitExceeded", async () => {
    server.injectFault({ method: "POST", url: /uploadType=multipart/, status: 429 });
    const info = await adapter().write("retry/small.txt", streamOf("throttled, then stored"));
    expect(info.size).toBe(22);
    expect(server.requests.filter((r) => r.method === "POST").length).toBe(2);
  });

  it("keeps retrying after a resumable upload (the SDK's default strategy stops)", async () => {
    const writer = adapter();
    await writer.write("retry/big.bin", patternBody(600 * KiB).stream);
    server.injectFault({ method: "GET", url: /\/o\/retry%2Fbig\.bin/, status: 503 });
    expect((await writer.stat("retry/big.bin")).size).toBe(600 * KiB);
  });

  it("gives up with Unavailable when told not to retry", async () => {
    const strict = adapter({ ...FAST_RETRY, idempotencyStrategy: IdempotencyStrategy.RetryNever });
    server.injectFault({ method: "POST", url: /uploadType=multipart/, status: 429 });
    await expectStorageError(strict.write("retry/never.txt", streamOf("x")), "Unavailable");
    expect(server.requests.filter((r) => r.method === "POST").length).toBe(1);
  });
});
