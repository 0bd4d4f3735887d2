import { expectStorageError } from "@mediagate/core/conformance";
import type { S3RecordedRequest, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { S3Adapter } from "../src/index.ts";
import { BUCKET, MiB, adapterFor, meteredBody, openUploads, startServer } from "./helpers.ts";

/**
 * A client that hangs up once its file is sent aborts the write while the request that
 * makes the object is on its way. A store that has the whole body carries that request out
 * even if its client hangs up, and may finish storing after a delete sent meanwhile: the
 * object then outlives the abort. The proxy's slow-commit fault stages exactly that — the
 * store takes a moment to act on a body it has received whole — so the race happens every
 * time, not two times in a few hundred.
 */

const PART = 5 * MiB;
/** How long the store takes to act on a body it has received whole. */
const COMMIT_DELAY_MS = 300;

let server: S3TestServer;
let adapter: S3Adapter;
let counter = 0;
const freshKey = (name: string) => `abort-race/${++counter}/${name}`;
const requestsFor = (operation: S3RecordedRequest["operation"], key: string) =>
  server.proxy.requestsFor(operation, key);

beforeAll(async () => {
  server = await startServer();
  // A grace well above the store's delay, so the test shows the wait, not its limit.
  adapter = adapterFor(server, { partSize: PART, queueSize: 2, abortGraceMs: 10_000 });
});
afterAll(() => server.stop());

/** Waits until the proxy has the whole body of the request that `test` picks. */
function bodySent(test: (r: S3RecordedRequest) => boolean): Promise<S3RecordedRequest> {
  return vi.waitFor(
    () => {
      const found = server.proxy.requests.find((r) => test(r) && r.bodyComplete);
      if (!found) throw new Error("not yet");
      return found;
    },
    { timeout: 10_000, interval: 5 },
  );
}

async function abortOnceSent(
  writer: S3Adapter,
  key: string,
  size: number,
  operation: S3RecordedRequest["operation"],
): Promise<S3RecordedRequest> {
  const fault = server.proxy.injectFault({
    match: (r) => r.operation === operation && r.key === key,
    fault: { type: "slow-commit", delayMs: COMMIT_DELAY_MS },
  });
  const controller = new AbortController();
  const writing = writer.write(key, meteredBody(size).stream, { signal: controller.signal });
  writing.catch(() => undefined);
  try {
    const request = await bodySent((r) => r.operation === operation && r.key === key);
    controller.abort(new Error("the client hung up after sending its file"));
    await expectStorageError(writing, "Aborted");
    await server.proxy.idle();
    return request;
  } finally {
    fault.remove();
  }
}

describe("an abort while the request that makes the object is on its way", () => {
  it("waits for a single PutObject to settle, then deletes what it stored", async () => {
    const key = freshKey("put.bin");
    const put = await abortOnceSent(adapter, key, 1024, "PutObject");
    await expectStorageError(adapter.stat(key), "NotFound");
    expect(await server.objects(BUCKET)).not.toContain(key);
    expect(put.outcome, "the PUT was answered, not cut off").toBe("answered");
    expect(put.status).toBe(200);
    const deletes = requestsFor("DeleteObject", key);
    expect(deletes.map((r) => r.status)).toEqual([204]);
    expect(deletes[0]?.startedAt).toBeGreaterThan(put.endedAt ?? Infinity);
  });

  it("waits for CompleteMultipartUpload to settle, then deletes the object it made", async () => {
    const key = freshKey("complete.bin");
    const complete = await abortOnceSent(adapter, key, PART + 10, "CompleteMultipartUpload");
    expect(complete.outcome).toBe("answered");
    expect(complete.status).toBe(200);
    // The completion won: the object is deleted, and no abort was sent while it ran.
    for (const abort of requestsFor("AbortMultipartUpload", key)) {
      expect(abort.startedAt).toBeGreaterThan(complete.endedAt ?? Infinity);
    }
    const deletes = requestsFor("DeleteObject", key);
    expect(deletes.map((r) => r.status)).toEqual([204]);
    expect(deletes[0]?.startedAt).toBeGreaterThan(complete.endedAt ?? Infinity);
    await expectStorageError(adapter.stat(key), "NotFound");
    expect(await openUploads(server, key)).toEqual([]);
  });

  it("without the grace (abortGraceMs: 0) the race is real: the object lands after its delete", async () => {
    const hasty = adapterFor(server, { partSize: PART, abortGraceMs: 0 });
    const key = freshKey("hasty.bin");
    const put = await abortOnceSent(hasty, key, 1024, "PutObject");
    expect(put.outcome).toBe("client-aborted");
    const [deleted] = requestsFor("DeleteObject", key);
    expect(deleted?.status).toBe(204);
    // The store finished storing after that delete: this is what the grace prevents.
    expect((await adapter.stat(key)).size).toBe(1024);
    await adapter.delete(key);
  });
});
