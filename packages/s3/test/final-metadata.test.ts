import { S3Client } from "@aws-sdk/client-s3";
import { expectStorageError, patternBody, streamOf } from "@mediagate/core/conformance";
import type { S3RecordedRequest, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3Adapter } from "../src/index.ts";
import { copySource } from "../src/metadata-replace.ts";
import { streamingUpload } from "../src/streaming-upload.ts";
import { BUCKET, MiB, adapterFor, openUploads, startServer } from "./helpers.ts";

/**
 * How the S3 adapter stores metadata known only at the end of the body, proven from the
 * requests the recording proxy saw: in the PutObject itself for a single-request body, and
 * by one conditional self-copy after a multipart completion, deleted again if that fails.
 */

const PART = 5 * MiB;

let server: S3TestServer;
let adapter: S3Adapter;
let counter = 0;
const freshKey = (name: string) => `final-metadata/${++counter}/${name}`;
const requestsFor = (operation: S3RecordedRequest["operation"], key: string) =>
  server.proxy.requestsFor(operation, key);

beforeAll(async () => {
  server = await startServer();
  adapter = adapterFor(server, { partSize: PART, queueSize: 2 });
});
afterAll(() => server.stop());

const final = { size: "123", sha256: "ab".repeat(32) };

describe("S3 finalMetadata", () => {
  it("puts a single-request body with its final metadata in the PutObject, no copy", async () => {
    const key = freshKey("small.txt");
    await adapter.write(key, streamOf("hello"), {
      metadata: { uid: "1" },
      finalMetadata: () => final,
    });
    await server.proxy.idle();
    const [put, ...more] = requestsFor("PutObject", key);
    expect(more).toEqual([]);
    expect(put?.headers["x-amz-meta-uid"]).toBe("1");
    expect(put?.headers["x-amz-meta-sha256"]).toBe(final.sha256);
    expect(requestsFor("CopyObject", key)).toEqual([]);
    expect(requestsFor("CreateMultipartUpload", key)).toEqual([]);
  });

  it("re-describes a multipart object with one conditional REPLACE copy of itself", async () => {
    const key = freshKey("big +1 ü.bin");
    const written = await adapter.write(key, patternBody(2 * PART + 1).stream, {
      contentType: "video/mp4",
      metadata: { uid: "1" },
      finalMetadata: () => final,
    });
    await server.proxy.idle();
    const [complete] = requestsFor("CompleteMultipartUpload", key);
    const copies = requestsFor("CopyObject", key);
    expect(copies).toHaveLength(1);
    const [copy] = copies as [S3RecordedRequest];
    expect(copy.startedAt).toBeGreaterThan(complete?.endedAt ?? Infinity);
    expect(copy.headers["x-amz-metadata-directive"]).toBe("REPLACE");
    expect(copy.headers["x-amz-copy-source"]).toBe(copySource(BUCKET, key));
    expect(copy.headers["x-amz-copy-source"]).toContain("big%20%2B1%20%C3%BC.bin");
    expect(copy.headers["x-amz-copy-source-if-match"]).toMatch(/^"[0-9a-f]+(-\d+)?"$/);
    expect(copy.headers["content-type"]).toBe("video/mp4");
    expect(written.metadata).toEqual({ uid: "1", ...final });
    expect((await adapter.stat(key)).etag).toBe(written.etag);
  });

  it("deletes the object and rejects when the copy fails", async () => {
    const key = freshKey("copy-fails.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "CopyObject" && r.key === key,
      fault: { type: "error", status: 500, code: "InternalError" },
    });
    await expectStorageError(
      adapter.write(key, patternBody(PART + 1).stream, { finalMetadata: () => final }),
      "Unavailable",
    );
    fault.remove();
    await server.proxy.idle();
    expect(requestsFor("CompleteMultipartUpload", key)).toHaveLength(1);
    expect(requestsFor("DeleteObject", key).map((r) => r.status)).toEqual([204]);
    await expectStorageError(adapter.stat(key), "NotFound");
  });

  it("leaves another writer's object alone when the copy's ETag precondition fails", async () => {
    const key = freshKey("raced.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "CopyObject" && r.key === key,
      fault: { type: "error", status: 412, code: "PreconditionFailed" },
    });
    const error = await expectStorageError(
      adapter.write(key, patternBody(PART + 1).stream, { finalMetadata: () => final }),
      "Internal",
    );
    fault.remove();
    expect(error.message).toMatch(/another write replaced/);
    await server.proxy.idle();
    expect(requestsFor("DeleteObject", key)).toEqual([]);
  });

  it("refuses a multipart write before completing it when finalMetadata throws", async () => {
    const key = freshKey("refused.bin");
    await expectStorageError(
      adapter.write(key, patternBody(PART + 1).stream, {
        finalMetadata: () => {
          throw new Error("no checksum");
        },
      }),
      "InvalidArgument",
    );
    await server.proxy.idle();
    expect(requestsFor("CompleteMultipartUpload", key)).toEqual([]);
    expect(requestsFor("AbortMultipartUpload", key).map((r) => r.status)).toEqual([204]);
    expect(await openUploads(server, key)).toEqual([]);
  });

  describe("bodies larger than CopyObject allows (limit lowered for the test)", () => {
    const client = () =>
      new S3Client({
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: true,
        credentials: { ...server.credentials },
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      });
    const upload = (key: string, size: number, contentLength: number | undefined) =>
      streamingUpload({
        client: client(),
        bucket: BUCKET,
        key,
        callerKey: key,
        body: patternBody(size).stream,
        contentType: "application/octet-stream",
        contentDisposition: undefined,
        contentLength,
        metadata: {},
        finalMetadata: () => final,
        partSize: PART,
        queueSize: 2,
        signal: new AbortController().signal,
        maxCopyBytes: PART + 10,
        onCleanupFailure: (err) => {
          throw err;
        },
      });

    it("refuses a declared length over the limit before sending anything", async () => {
      const key = freshKey("declared-huge.bin");
      await expectStorageError(upload(key, 3 * PART, 3 * PART), "Unsupported");
      await server.proxy.idle();
      expect(server.proxy.requests.filter((r) => r.key === key)).toEqual([]);
    });

    it("stops a body of unknown length once it passes the limit, aborting the upload", async () => {
      const key = freshKey("grown-huge.bin");
      await expectStorageError(upload(key, 3 * PART, undefined), "Unsupported");
      await server.proxy.idle();
      expect(requestsFor("CompleteMultipartUpload", key)).toEqual([]);
      // Aborted if it had been opened by then (the limit may trip before that).
      const opened = requestsFor("CreateMultipartUpload", key).length;
      expect(requestsFor("AbortMultipartUpload", key)).toHaveLength(opened);
      expect(await openUploads(server, key)).toEqual([]);
      await expectStorageError(adapter.stat(key), "NotFound");
    });
  });
});
