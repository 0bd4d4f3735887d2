import { AbortMultipartUploadCommand } from "@aws-sdk/client-s3";
import { expectStorageError } from "@mediagate/core/conformance";
import type { S3RecordedRequest, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { S3Adapter } from "../src/index.ts";
import { BUCKET, MiB, adapterFor, meteredBody, openUploads, startServer } from "./helpers.ts";

/**
 * s3rver implements no AbortMultipartUpload, so "nothing left behind" is proven from the
 * requests the adapter actually sent, as the recording proxy saw them, plus the uploads
 * s3rver still holds on disk (the test server discards an upload's parts only on a valid
 * AbortMultipartUpload for it).
 */

const PART = 5 * MiB;

let server: S3TestServer;
let adapter: S3Adapter;
let counter = 0;
const freshKey = (name: string) => `abort-path/${++counter}/${name}`;

beforeAll(async () => {
  server = await startServer();
  // Requests the proxy never answers are cut off this long after the abort (see
  // abort-race.test.ts for what the grace is for).
  adapter = adapterFor(server, { partSize: PART, queueSize: 2, abortGraceMs: 200 });
});
afterAll(() => server.stop());

const requestsFor = (operation: S3RecordedRequest["operation"], key: string) =>
  server.proxy.requestsFor(operation, key);

/** Waits (polling the proxy's log) until a request matching `test` has been recorded. */
async function sawRequest(test: (r: S3RecordedRequest) => boolean): Promise<S3RecordedRequest> {
  return vi.waitFor(
    () => {
      const found = server.proxy.requests.find(test);
      if (!found) throw new Error("not yet");
      return found;
    },
    { timeout: 10_000, interval: 10 },
  );
}

/**
 * The multipart upload was aborted exactly once, no part was sent after the abort and every
 * part answered before it (parts the write cancelled may be seen closing a moment later: the
 * proxy notices a dropped connection asynchronously), it was never completed, and neither
 * its parts nor an object remain.
 */
async function expectAbortedCleanly(key: string): Promise<S3RecordedRequest> {
  await server.proxy.idle();
  const creates = requestsFor("CreateMultipartUpload", key);
  expect(creates, "one multipart upload was started").toHaveLength(1);
  const aborts = requestsFor("AbortMultipartUpload", key);
  expect(aborts, "exactly one AbortMultipartUpload").toHaveLength(1);
  const [abort] = aborts as [S3RecordedRequest];
  expect(abort.status).toBe(204);
  const parts = requestsFor("UploadPart", key);
  expect(parts.length).toBeGreaterThan(0);
  for (const part of parts) {
    const what = `part ${part.partNumber} (request ${part.id})`;
    expect(part.uploadId).toBe(abort.uploadId);
    expect(part.startedAt, `${what} was sent before the abort`).toBeLessThan(abort.startedAt);
    if (part.outcome === "answered") {
      expect(part.endedAt, `${what} was answered before the abort`).toBeLessThan(abort.startedAt);
    } else {
      expect(["client-aborted", "fault"], `${what} was cut off`).toContain(part.outcome);
    }
  }
  expect(requestsFor("CompleteMultipartUpload", key)).toEqual([]);
  expect(await openUploads(server, key)).toEqual([]);
  await expectStorageError(adapter.stat(key), "NotFound");
  return abort;
}

describe("failures mid-upload abort the multipart upload", () => {
  it("a part whose connection drops mid-body (every retry too) → Unavailable, upload aborted", async () => {
    const key = freshKey("reset.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 2,
      fault: { type: "reset", afterBytes: MiB },
    });
    const body = meteredBody(4 * PART);
    const error = await expectStorageError(adapter.write(key, body.stream), "Unavailable");
    fault.remove();
    expect(error.cause).toBeDefined();
    const failed = requestsFor("UploadPart", key).filter((r) => r.partNumber === 2);
    expect(failed.length, "the SDK retried the part before giving up").toBe(3);
    for (const attempt of failed) {
      expect(attempt.outcome).toBe("fault");
      expect(attempt.bytesIn).toBeGreaterThanOrEqual(MiB);
      expect(attempt.bytesIn).toBeLessThan(PART);
    }
    expect(body.stream.destroyed).toBe(true);
    await expectAbortedCleanly(key);
  });

  it("a part S3 answers with 500 InternalError → Unavailable, upload aborted", async () => {
    const key = freshKey("internal-error.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 3,
      fault: { type: "error", status: 500, code: "InternalError" },
    });
    await expectStorageError(adapter.write(key, meteredBody(4 * PART).stream), "Unavailable");
    fault.remove();
    await expectAbortedCleanly(key);
  });

  it("a part refused with 403 AccessDenied → Unauthorized (never NotFound), upload aborted", async () => {
    const key = freshKey("denied.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 2,
      fault: { type: "error", status: 403, code: "AccessDenied" },
    });
    await expectStorageError(adapter.write(key, meteredBody(3 * PART).stream), "Unauthorized");
    fault.remove();
    await expectAbortedCleanly(key);
  });

  it("stops reading the body at the first failed request instead of uploading the rest", async () => {
    const key = freshKey("stop-early.bin");
    const strict = adapterFor(server, { partSize: PART, queueSize: 2, maxAttempts: 1 });
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 2,
      fault: { type: "error", status: 503, code: "SlowDown" },
    });
    const body = meteredBody(400 * MiB);
    await expectStorageError(strict.write(key, body.stream), "Unavailable");
    fault.remove();
    // A worker still busy with its part may pull one more; nothing like the whole body.
    expect(body.produced).toBeLessThanOrEqual(6 * PART);
    expect(requestsFor("UploadPart", key).length).toBeLessThanOrEqual(5);
    await expectAbortedCleanly(key);
  });

  it("a body longer than its declared contentLength → InvalidArgument, upload aborted", async () => {
    const key = freshKey("too-long.bin");
    const body = meteredBody(4 * PART, { stallAt: 3 * PART });
    const writing = adapter.write(key, body.stream, { contentLength: 3 * PART });
    writing.catch(() => undefined);
    await sawRequest(
      (r) => r.operation === "UploadPart" && r.key === key && r.outcome === "answered",
    );
    body.release();
    await expectStorageError(writing, "InvalidArgument");
    expect(body.produced).toBeLessThan(4 * PART);
    await expectAbortedCleanly(key);
  });

  it("a body that ends short of its declared contentLength → InvalidArgument, never completed", async () => {
    const key = freshKey("too-short.bin");
    const body = meteredBody(3 * PART, { stallAt: 2 * PART + 10 });
    const writing = adapter.write(key, body.stream, { contentLength: 3 * PART });
    writing.catch(() => undefined);
    await sawRequest(
      (r) => r.operation === "UploadPart" && r.key === key && r.outcome === "answered",
    );
    body.end();
    await expectStorageError(writing, "InvalidArgument");
    await expectAbortedCleanly(key);
  });
});

describe("caller aborts cancel what is on the wire, then abort the upload", () => {
  it("while the body stalls between parts", async () => {
    const key = freshKey("stalled.bin");
    const body = meteredBody(10 * PART, { stallAt: PART + 2 * MiB });
    const controller = new AbortController();
    const writing = adapter.write(key, body.stream, { signal: controller.signal });
    writing.catch(() => undefined);
    await sawRequest(
      (r) => r.operation === "UploadPart" && r.key === key && r.outcome === "answered",
    );
    controller.abort(new Error("client went away"));
    await expectStorageError(writing, "Aborted");
    expect(body.stream.destroyed).toBe(true);
    await expectAbortedCleanly(key);
  });

  it("while a part is on the wire: the part request is cancelled before the abort is sent", async () => {
    const key = freshKey("in-flight.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 2,
      fault: { type: "hang" },
    });
    const controller = new AbortController();
    const writing = adapter.write(key, meteredBody(4 * PART).stream, { signal: controller.signal });
    writing.catch(() => undefined);
    const hung = await sawRequest(
      (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 2,
    );
    controller.abort();
    await expectStorageError(writing, "Aborted");
    fault.remove();
    await expectAbortedCleanly(key);
    // The proxy never answers this part: it ended only because the write cancelled it (had it
    // waited for an answer instead, the write would never have settled).
    expect(hung.outcome).toBe("client-aborted");
    expect(hung.status).toBeUndefined();
  });

  it("while CompleteMultipartUpload is unanswered: the write still ends, and the upload is aborted", async () => {
    const key = freshKey("completing.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "CompleteMultipartUpload" && r.key === key,
      fault: { type: "hang" },
    });
    const controller = new AbortController();
    const writing = adapter.write(key, meteredBody(2 * PART + 1).stream, {
      signal: controller.signal,
    });
    writing.catch(() => undefined);
    const complete = await sawRequest(
      (r) => r.operation === "CompleteMultipartUpload" && r.key === key,
    );
    controller.abort();
    await expectStorageError(writing, "Aborted");
    fault.remove();
    await server.proxy.idle();
    expect(complete.outcome).toBe("client-aborted");
    const aborts = requestsFor("AbortMultipartUpload", key);
    expect(aborts).toHaveLength(1);
    expect(aborts[0]?.status).toBe(204);
    expect(await openUploads(server, key)).toEqual([]);
    await expectStorageError(adapter.stat(key), "NotFound");
  });
});

describe("a completion that took effect although the write was stopped", () => {
  it("deletes the object it made (the abort answers NoSuchUpload)", async () => {
    const key = freshKey("completed-anyway.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "CompleteMultipartUpload" && r.key === key,
      fault: { type: "lose-answer" },
    });
    const controller = new AbortController();
    const writing = adapter.write(key, meteredBody(PART + 10).stream, {
      signal: controller.signal,
    });
    writing.catch(() => undefined);
    const complete = await sawRequest(
      (r) => r.operation === "CompleteMultipartUpload" && r.key === key && r.upstreamStatus === 200,
    );
    // s3rver has completed the object; the write never heard.
    expect((await adapter.stat(key)).size).toBe(PART + 10);
    controller.abort();
    await expectStorageError(writing, "Aborted");
    fault.remove();
    await server.proxy.idle();
    expect(complete.outcome).toBe("client-aborted");
    const [abort] = requestsFor("AbortMultipartUpload", key);
    expect(abort?.status).toBe(404);
    const deletes = requestsFor("DeleteObject", key);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.startedAt).toBeGreaterThan(abort?.startedAt ?? Infinity);
    await expectStorageError(adapter.stat(key), "NotFound");
    expect(await openUploads(server, key)).toEqual([]);
  });
});

describe("a single PutObject whose fate is unknown", () => {
  it("deletes the object when the PUT took effect but its answer never came", async () => {
    const key = freshKey("put-anyway.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "PutObject" && r.key === key,
      fault: { type: "lose-answer" },
    });
    const controller = new AbortController();
    const writing = adapter.write(key, meteredBody(1024).stream, { signal: controller.signal });
    writing.catch(() => undefined);
    const put = await sawRequest(
      (r) => r.operation === "PutObject" && r.key === key && r.upstreamStatus === 200,
    );
    // s3rver has stored the object; the write never heard.
    expect((await adapter.stat(key)).size).toBe(1024);
    controller.abort();
    await expectStorageError(writing, "Aborted");
    fault.remove();
    await server.proxy.idle();
    expect(put.outcome).toBe("client-aborted");
    const deletes = requestsFor("DeleteObject", key);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.startedAt).toBeGreaterThan(put.startedAt);
    await expectStorageError(adapter.stat(key), "NotFound");
  });

  it("sends no delete when the store answered the PUT with an error (it stored nothing)", async () => {
    const key = freshKey("put-refused.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "PutObject" && r.key === key,
      fault: { type: "error", status: 403, code: "AccessDenied" },
    });
    await expectStorageError(adapter.write(key, meteredBody(1024).stream), "Unauthorized");
    fault.remove();
    await server.proxy.idle();
    expect(requestsFor("PutObject", key).length).toBeGreaterThan(0);
    expect(requestsFor("DeleteObject", key)).toEqual([]);
  });
});

describe("when the abort itself fails", () => {
  it("reports the upload it could not abort, and still rejects with the original error", async () => {
    const key = freshKey("unabortable.bin");
    const reported: { uploadId?: string; key: string; bucket: string }[] = [];
    const reporting = adapterFor(server, {
      partSize: PART,
      abortGraceMs: 200,
      onCleanupFailure: (_error, upload) => reported.push(upload),
    });
    const partFault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 2,
      fault: { type: "error", status: 403, code: "AccessDenied" },
    });
    const abortFault = server.proxy.injectFault({
      match: (r) => r.operation === "AbortMultipartUpload" && r.key === key,
      fault: { type: "error", status: 503, code: "ServiceUnavailable" },
    });
    await expectStorageError(reporting.write(key, meteredBody(3 * PART).stream), "Unauthorized");
    partFault.remove();
    abortFault.remove();
    expect(reported).toHaveLength(1);
    const [upload] = reported as [(typeof reported)[number]];
    expect(upload).toMatchObject({ bucket: BUCKET, key });
    // Honest bookkeeping: the upload really is still open until someone aborts it.
    expect(await openUploads(server, key)).toEqual([
      `open multipart upload ${upload.uploadId} for ${JSON.stringify(key)}`,
    ]);
    await reporting.client.send(
      new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: upload.uploadId }),
    );
    expect(await openUploads(server, key)).toEqual([]);
  });
});

describe("the whole file", () => {
  it("left no multipart upload open on the server", async () => {
    await server.proxy.idle();
    expect(await openUploads(server)).toEqual([]);
  });
});
