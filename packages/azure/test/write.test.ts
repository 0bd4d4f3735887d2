import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { BlockBlobClient } from "@azure/storage-blob";
import {
  expectStorageError,
  digestStream,
  patternBody,
  patternSlice,
  stallingBody,
  streamOf,
} from "@mediagate/core/conformance";
import { startAzurite, type AzuriteServer } from "@mediagate/test-servers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { uploadBlockBlob } from "../src/block-upload.ts";
import { discardStagedBlocks } from "../src/cleanup.ts";
import { AzureBlobAdapter, findUncommittedBlocks } from "../src/index.ts";
import { NO_RETRIES, sharedKeyAdapter } from "./azurite.ts";
import { BlockProxy } from "./block-proxy.ts";

const KiB = 1024;
const BLOCK = 256 * KiB;
const CONTAINER = "writes";

let azurite: AzuriteServer;
let proxy: BlockProxy;
/** Talks to Azurite through the proxy, with small blocks so bodies span several. */
let adapter: AzureBlobAdapter;
let prefix = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await BlockProxy.start(azurite);
  await sharedKeyAdapter(azurite, CONTAINER);
  adapter = new AzureBlobAdapter({
    accountName: azurite.accountName,
    accountKey: azurite.accountKey,
    endpoint: proxy.blobEndpoint,
    container: CONTAINER,
    pipeline: NO_RETRIES,
    bufferSize: BLOCK,
    concurrency: 2,
  });
});

afterEach(() => proxy.release());

afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
});

const freshKey = (name: string) => `t${++prefix}/${name}`;
const blockBlob = (key: string): BlockBlobClient => adapter.containerClient.getBlockBlobClient(key);

/** What Azurite holds for `key`: committed block sizes, and staged ones if the blob is absent. */
async function blocksOf(key: string): Promise<{ committed: number[]; uncommitted: number[] }> {
  const list = await blockBlob(key).getBlockList("all");
  return {
    committed: (list.committedBlocks ?? []).map((b) => b.size),
    uncommitted: (list.uncommittedBlocks ?? []).map((b) => b.size),
  };
}

/** Pattern bytes on demand, recording how far ahead of Azurite's acknowledgements it was read. */
function countingBody(size: number, onRead: (produced: number) => void): Readable {
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= size) return void this.push(null);
      const end = Math.min(size, produced + 64 * KiB) - 1;
      this.push(patternSlice(produced, end));
      produced = end + 1;
      onRead(produced);
    },
  });
}

describe("block uploads", () => {
  it.each([
    ["an empty body", 0, []],
    ["a body under one block", 1000, []],
    ["a body of exactly one block", BLOCK, []],
    ["one byte over a block", BLOCK + 1, [BLOCK, 1]],
    ["five and a half blocks", 5.5 * BLOCK, [BLOCK, BLOCK, BLOCK, BLOCK, BLOCK, BLOCK / 2]],
  ])(
    "stores %s intact, in one Put Blob up to bufferSize and in blocks above",
    async (_label, size, blocks) => {
      const key = freshKey("sized");
      const body = patternBody(size);
      const info = await adapter.write(key, body.stream, {
        contentType: "video/mp4",
        metadata: { uid: "1" },
      });
      expect(info.size).toBe(size);
      expect((await blocksOf(key)).committed).toEqual(blocks);
      const read = await adapter.read(key);
      expect(await digestStream(read.body)).toEqual({ sha256: await body.sha256, bytes: size });
      expect(read.info).toMatchObject({
        size,
        contentType: "video/mp4",
        metadata: { uid: "1" },
        etag: info.etag,
      });
    },
  );

  it("recycles only its own block buffers, never the caller's chunks", async () => {
    const key = freshKey("chunks");
    const chunks = [0, 1, 2, 3, 4].map((n) => patternSlice(n * BLOCK, (n + 1) * BLOCK - 1));
    const copies = chunks.map((chunk) => Buffer.from(chunk));
    await adapter.write(key, Readable.from(chunks));
    chunks.forEach((chunk, n) => expect(chunk.equals(copies[n] as Buffer)).toBe(true));
    const stored = await digestStream((await adapter.read(key)).body);
    expect(stored.sha256).toBe(createHash("sha256").update(Buffer.concat(copies)).digest("hex"));
  });

  it("keeps at most `concurrency` blocks on the wire and reads the body only a block ahead of them", async () => {
    const key = freshKey("bounded");
    const size = 40 * BLOCK;
    let furthestAhead = 0;
    let readPastThreeBlocks!: () => void;
    const pastThreeBlocks = new Promise<void>((resolve) => (readPastThreeBlocks = resolve));
    const body = countingBody(size, (produced) => {
      furthestAhead = Math.max(furthestAhead, produced - proxy.acknowledgedBytes);
      if (produced >= 3 * BLOCK) readPastThreeBlocks();
    });
    const before = proxy.blockRequests;
    proxy.hold();
    const writing = adapter.write(key, body);
    // With Azure answering nothing, a reader without a bound would pull all 40 blocks now.
    await proxy.until(() => proxy.inFlight === 2);
    await pastThreeBlocks;
    proxy.release();
    const info = await writing;
    expect(info.size).toBe(size);
    expect(proxy.blockRequests - before).toBe(40);
    expect(proxy.maxInFlight).toBe(2);
    // Two blocks on the wire, one being filled, plus the stream's own small buffer.
    expect(furthestAhead).toBeLessThanOrEqual(3 * BLOCK + 128 * KiB);
  });

  it("discards the staged blocks when aborted mid-upload, and destroys the body", async () => {
    const key = freshKey("aborted");
    const body = stallingBody(3 * BLOCK + 1000);
    const controller = new AbortController();
    const acknowledged = proxy.acknowledgedBytes;
    const writing = adapter.write(key, body.stream, { signal: controller.signal });
    writing.catch(() => undefined);
    await body.drained;
    await proxy.until(() => proxy.acknowledgedBytes - acknowledged === 3 * BLOCK);
    // Azurite really holds the staged blocks before the abort…
    expect((await blocksOf(key)).uncommitted).toEqual([BLOCK, BLOCK, BLOCK]);
    controller.abort();
    await expectStorageError(writing, "Aborted");
    expect(body.stream.destroyed).toBe(true);
    // …and nothing after it: no blob, no blocks.
    await expectStorageError(adapter.stat(key), "NotFound");
    expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([]);
  });

  it("lets blocks already on the wire finish after an abort, then discards them", async () => {
    const key = freshKey("in-flight");
    const controller = new AbortController();
    proxy.hold();
    const abandonedBefore = proxy.abandoned;
    const acknowledged = proxy.acknowledgedBytes;
    const body = patternBody(10 * BLOCK);
    const writing = adapter.write(key, body.stream, { signal: controller.signal });
    writing.catch(() => undefined);
    await proxy.until(() => proxy.inFlight === 2);
    controller.abort();
    proxy.release();
    await expectStorageError(writing, "Aborted");
    // Azure applied both blocks (cutting them off would leave that unknown)…
    expect(proxy.abandoned).toBe(abandonedBefore);
    expect(proxy.acknowledgedBytes - acknowledged).toBe(2 * BLOCK);
    expect(body.stream.destroyed).toBe(true);
    // …and the cleanup that ran after them removed them.
    await expectStorageError(adapter.stat(key), "NotFound");
    expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([]);
  });

  it("cuts off blocks the service sits on for longer than the abort grace", async () => {
    const key = freshKey("hung");
    const controller = new AbortController();
    proxy.hold();
    const abandonedBefore = proxy.abandoned;
    const uploading = uploadBlockBlob(blockBlob(key), patternBody(10 * BLOCK).stream, {
      blockSize: BLOCK,
      concurrency: 2,
      headers: {},
      metadata: () => ({}),
      contentLength: undefined,
      signal: controller.signal,
      abortGraceMs: 50,
    });
    uploading.catch(() => undefined);
    await proxy.until(() => proxy.inFlight === 2);
    const reason = new Error("client went away");
    controller.abort(reason);
    await expect(uploading).rejects.toBe(reason);
    await proxy.until(() => proxy.abandoned - abandonedBefore === 2);
    proxy.release();
    expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([]);
  });

  it("fails with Unavailable when Azure refuses a block, stops the body and discards the rest", async () => {
    const key = freshKey("refused");
    const body = patternBody(8 * BLOCK);
    proxy.failBlock(3);
    const error = await expectStorageError(adapter.write(key, body.stream), "Unavailable");
    expect((error.cause as { statusCode?: number }).statusCode).toBe(503);
    expect(body.stream.destroyed).toBe(true);
    await expectStorageError(adapter.stat(key), "NotFound");
    expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([]);
  });

  it("keeps the old blob when an overwrite fails after staging; its staged blocks wait for the next write", async () => {
    const key = freshKey("overwrite");
    const original = await adapter.write(key, streamOf("original"));
    const body = stallingBody(2 * BLOCK + 10);
    const controller = new AbortController();
    const acknowledged = proxy.acknowledgedBytes;
    const writing = adapter.write(key, body.stream, { signal: controller.signal });
    writing.catch(() => undefined);
    await body.drained;
    await proxy.until(() => proxy.acknowledgedBytes - acknowledged === 2 * BLOCK);
    controller.abort();
    await expectStorageError(writing, "Aborted");

    expect((await adapter.stat(key)).etag).toBe(original.etag);
    // Azure cannot delete them without replacing the blob, so they stay (for up to 7 days)…
    expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([
      `${key}: 2 uncommitted block(s) beside the committed blob`,
    ]);
    // …until the next successful write to the key, whose commit discards them.
    await adapter.write(key, patternBody(2 * BLOCK).stream);
    expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([]);
  });

  it.each([
    ["shorter", 3 * BLOCK, 3 * BLOCK + 1],
    ["longer", 3 * BLOCK + 1, 3 * BLOCK],
    ["shorter, in one request", 100, 101],
  ])(
    "rejects a body %s than contentLength with InvalidArgument and stores nothing",
    async (_label, size, contentLength) => {
      const key = freshKey("length");
      await expectStorageError(
        adapter.write(key, patternBody(size).stream, { contentLength }),
        "InvalidArgument",
      );
      await expectStorageError(adapter.stat(key), "NotFound");
      expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([]);
    },
  );

  it("treats a body destroyed without an error (a client gone) as Aborted", async () => {
    const key = freshKey("destroyed");
    const body = stallingBody(BLOCK + 10);
    const writing = adapter.write(key, body.stream);
    writing.catch(() => undefined);
    await body.drained;
    body.stream.destroy();
    await expectStorageError(writing, "Aborted");
    await expectStorageError(adapter.stat(key), "NotFound");
    expect(await findUncommittedBlocks(adapter.containerClient, key)).toEqual([]);
  });
});

describe("discardStagedBlocks", () => {
  const stage = async (blob: BlockBlobClient, ids: string[]) => {
    for (const id of ids) await blob.stageBlock(id, Buffer.from(id), id.length);
  };
  const id = (n: number) => Buffer.from(`upload-${n}`).toString("base64");

  it("deletes a blob our own commit created (the commit landed, its answer did not)", async () => {
    const key = freshKey("landed");
    const blob = blockBlob(key);
    await stage(blob, [id(1), id(2)]);
    await blob.commitBlockList([id(1), id(2)]);
    await discardStagedBlocks(blob, id(1));
    expect(await blob.exists()).toBe(false);
  });

  it("leaves someone else's blob alone", async () => {
    const key = freshKey("foreign");
    const blob = blockBlob(key);
    await adapter.write(key, streamOf("theirs"));
    await stage(blob, [id(1)]);
    await discardStagedBlocks(blob, id(1));
    expect(createHash("sha256").update("theirs").digest("hex")).toBe(
      (await digestStream((await adapter.read(key)).body)).sha256,
    );
  });
});
