import { expectStorageError, patternBody } from "@mediagate/core/conformance";
import { startAzurite, type AzuriteServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AzureBlobAdapter, findUncommittedBlocks } from "../src/index.ts";
import { NO_RETRIES, QUICK_RETRIES, sharedKeyAdapter } from "./azurite.ts";
import { BlockProxy } from "./block-proxy.ts";

/**
 * Requests seen through the block proxy: the blob is made in one request whatever its
 * size (its final metadata included), a client that hangs up once its file is sent does
 * not leave the blob behind although Azure stored it before answering, and throttling
 * (503 ServerBusy) is retried by the SDK.
 */

const KiB = 1024;
const CONTAINER = "abort-race";

let azurite: AzuriteServer;
let proxy: BlockProxy;
let counter = 0;
const freshKey = (name: string) => `race/${++counter}/${name}`;

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await BlockProxy.start(azurite);
  await sharedKeyAdapter(azurite, CONTAINER);
});
afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
});
beforeEach(() => {
  proxy.log.length = 0;
});

function adapter(pipeline = NO_RETRIES): AzureBlobAdapter {
  return new AzureBlobAdapter({
    accountName: azurite.accountName,
    accountKey: azurite.accountKey,
    endpoint: proxy.blobEndpoint,
    container: CONTAINER,
    pipeline,
    bufferSize: 256 * KiB,
    concurrency: 2,
  });
}

describe("final metadata", () => {
  it("goes in the request that makes the blob: nothing after it, whatever the size", async () => {
    const writer = adapter();
    const final = { size: "x", sha256: "ef".repeat(32) };
    const after: string[][] = [];
    for (const size of [600 * KiB, 2 * 1024 * KiB]) {
      proxy.log.length = 0;
      const written = await writer.write(freshKey("sized.bin"), patternBody(size).stream, {
        metadata: { uid: "1" },
        finalMetadata: () => ({ ...final, size: String(size) }),
      });
      expect(written.metadata).toEqual({ uid: "1", ...final, size: String(size) });
      after.push(proxy.log.slice(proxy.log.indexOf("PUT blocklist")));
    }
    expect(after[0]).toEqual(["PUT blocklist"]);
    expect(after[1]).toEqual(after[0]);
  });
});

describe("an abort while Azure has stored the blob but not yet answered", () => {
  for (const [what, size, kind] of [
    ["a Put Blob", KiB, "PUT blob"],
    ["a Put Block List", 600 * KiB, "PUT blocklist"],
  ] as const) {
    it(`waits for ${what} to answer, then deletes the blob it made`, async () => {
      const writer = adapter();
      const key = freshKey("raced.bin");
      let release = () => {};
      proxy.holdAnswer(kind, new Promise<void>((resolve) => (release = resolve)));
      const controller = new AbortController();
      const writing = writer.write(key, patternBody(size).stream, { signal: controller.signal });
      writing.catch(() => undefined);
      try {
        // Azure has the blob; the answer is on hold.
        await expect
          .poll(() => writer.containerClient.getBlobClient(key).exists(), { timeout: 10_000 })
          .toBe(true);
        controller.abort(new Error("the client hung up after sending its file"));
        release();
        await expectStorageError(writing, "Aborted");
      } finally {
        release();
      }
      // Checked at once: the blob is gone by the time the write rejects.
      expect(await writer.containerClient.getBlobClient(key).exists()).toBe(false);
      // (HEAD requests are the test's own probes.)
      const sent = proxy.log.slice(proxy.log.indexOf(kind)).filter((k) => k !== "HEAD blob");
      expect(sent).toEqual([kind, "DELETE blob"]);
      expect(await findUncommittedBlocks(writer.containerClient, key)).toEqual([]);
    });
  }
});

describe("throttling", () => {
  it("rides out 503 ServerBusy on a block with the SDK's exponential retry", async () => {
    const writer = adapter(QUICK_RETRIES);
    const key = freshKey("busy.bin");
    proxy.failBlock(2);
    const written = await writer.write(key, patternBody(700 * KiB).stream);
    expect(written.size).toBe(700 * KiB);
    expect(proxy.log.filter((k) => k === "PUT block")).toHaveLength(4);
  });

  it("reports Unavailable when told not to retry, leaving no blocks", async () => {
    const writer = adapter(NO_RETRIES);
    const key = freshKey("busy-once.bin");
    proxy.failBlock(1);
    await expectStorageError(writer.write(key, patternBody(700 * KiB).stream), "Unavailable");
    expect(await writer.containerClient.getBlobClient(key).exists()).toBe(false);
    expect(await findUncommittedBlocks(writer.containerClient, key)).toEqual([]);
  });
});
