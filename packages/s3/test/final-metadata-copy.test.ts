import { S3Client } from "@aws-sdk/client-s3";
import { expectStorageError, patternBody } from "@mediagate/core/conformance";
import type { S3RecordedRequest, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3Adapter } from "../src/index.ts";
import { copySource } from "../src/metadata-replace.ts";
import { streamingUpload } from "../src/streaming-upload.ts";
import { BUCKET, MiB, adapterFor, openUploads, startServer } from "./helpers.ts";

/**
 * The copy that sets a multipart object's final metadata where tags cannot: on stores that
 * keep no tags (detected, or `finalMetadataStorage: "copy"`), with its conditions and its
 * 5 GiB limit, which tags do not have. (final-metadata.test.ts covers the tags.)
 */

const PART = 5 * MiB;

let server: S3TestServer;
let adapter: S3Adapter;
let counter = 0;
const freshKey = (name: string) => `final-metadata-copy/${++counter}/${name}`;
const requestsFor = (operation: S3RecordedRequest["operation"], key: string) =>
  server.proxy.requestsFor(operation, key);
/** The operations sent for `key` after its CompleteMultipartUpload, in order. */
const afterCompletion = (key: string) => {
  const requests = server.proxy.requests.filter((r) => r.key === key);
  const complete = requests.findIndex((r) => r.operation === "CompleteMultipartUpload");
  expect(complete).toBeGreaterThanOrEqual(0);
  return requests.slice(complete + 1);
};

beforeAll(async () => {
  server = await startServer();
  adapter = adapterFor(server, { partSize: PART, queueSize: 2 });
});
afterAll(() => server.stop());

const final = { size: "123", sha256: "ab".repeat(32) };

describe("a store without object tagging (Cloudflare R2 answers 501 NotImplemented)", () => {
  it("falls back to the copy once, warns once, and copies from then on", async () => {
    const noTags = adapterFor(server, { partSize: PART, queueSize: 2 });
    const fault = server.proxy.injectFault({
      match: (r) => r.operation.endsWith("ObjectTagging"),
      fault: { type: "error", status: 501, code: "NotImplemented" },
    });
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === "MEDIAGATE_S3_NO_TAGGING") warnings.push(w.message);
    };
    process.on("warning", onWarning);
    try {
      const first = freshKey("r2-first.bin");
      const second = freshKey("r2-second.bin");
      await noTags.write(first, patternBody(PART + 1).stream, { finalMetadata: () => final });
      await noTags.write(second, patternBody(PART + 1).stream, { finalMetadata: () => final });
      await server.proxy.idle();
      await expect.poll(() => warnings.length, { timeout: 5_000 }).toBe(1);
      expect(afterCompletion(first).map((r) => r.operation)).toEqual([
        "PutObjectTagging",
        "CopyObject",
        "HeadObject",
      ]);
      const [secondCreate] = requestsFor("CreateMultipartUpload", second);
      expect(secondCreate?.headers["x-amz-meta-mediagate-final"]).toBeUndefined();
      expect(afterCompletion(second).map((r) => r.operation)).toEqual(["CopyObject", "HeadObject"]);
      for (const key of [first, second]) {
        expect((await noTags.stat(key)).metadata).toEqual(final);
      }
    } finally {
      process.off("warning", onWarning);
      fault.remove();
    }
  });
});

describe('finalMetadataStorage: "copy"', () => {
  let copying: S3Adapter;
  beforeAll(() => {
    copying = adapterFor(server, { partSize: PART, queueSize: 2, finalMetadataStorage: "copy" });
  });

  it("re-describes a multipart object with one conditional REPLACE copy of itself", async () => {
    const key = freshKey("big +1 ü.bin");
    const written = await copying.write(key, patternBody(2 * PART + 1).stream, {
      contentType: "video/mp4",
      metadata: { uid: "1" },
      finalMetadata: () => final,
    });
    await server.proxy.idle();
    const [complete] = requestsFor("CompleteMultipartUpload", key);
    expect(requestsFor("PutObjectTagging", key)).toEqual([]);
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
    expect((await copying.stat(key)).etag).toBe(written.etag);
  });

  it("deletes the object and rejects when the copy fails", async () => {
    const key = freshKey("copy-fails.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "CopyObject" && r.key === key,
      fault: { type: "error", status: 500, code: "InternalError" },
    });
    await expectStorageError(
      copying.write(key, patternBody(PART + 1).stream, { finalMetadata: () => final }),
      "Unavailable",
    );
    fault.remove();
    await server.proxy.idle();
    expect(requestsFor("CompleteMultipartUpload", key)).toHaveLength(1);
    expect(requestsFor("DeleteObject", key).map((r) => r.status)).toEqual([204]);
    await expectStorageError(copying.stat(key), "NotFound");
  });

  it("leaves another writer's object alone when the copy's ETag precondition fails", async () => {
    const key = freshKey("copy-raced.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "CopyObject" && r.key === key,
      fault: { type: "error", status: 412, code: "PreconditionFailed" },
    });
    const error = await expectStorageError(
      copying.write(key, patternBody(PART + 1).stream, { finalMetadata: () => final }),
      "Internal",
    );
    fault.remove();
    expect(error.message).toMatch(/another write replaced/);
    await server.proxy.idle();
    expect(requestsFor("DeleteObject", key)).toEqual([]);
  });
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
  const upload = (
    key: string,
    size: number,
    contentLength: number | undefined,
    finalMetadataStorage: "tags" | "copy",
  ) =>
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
      finalMetadataStorage,
      partSize: PART,
      queueSize: 2,
      signal: new AbortController().signal,
      abortGraceMs: 1000,
      maxCopyBytes: PART + 10,
      onCleanupFailure: (err) => {
        throw err;
      },
    });

  it("stores tags for a body past the copy limit: tags have none", async () => {
    const key = freshKey("huge-tagged.bin");
    const result = await upload(key, 3 * PART, 3 * PART, "tags");
    expect(result).toMatchObject({ size: 3 * PART, finalInTags: true });
    expect((await adapter.stat(key)).metadata).toEqual(final);
  });

  it("with copy, refuses a declared length over the limit before sending anything", async () => {
    const key = freshKey("declared-huge.bin");
    await expectStorageError(upload(key, 3 * PART, 3 * PART, "copy"), "Unsupported");
    await server.proxy.idle();
    expect(server.proxy.requests.filter((r) => r.key === key)).toEqual([]);
  });

  it("with copy, stops a body of unknown length once it passes the limit, aborting the upload", async () => {
    const key = freshKey("grown-huge.bin");
    await expectStorageError(upload(key, 3 * PART, undefined, "copy"), "Unsupported");
    await server.proxy.idle();
    expect(requestsFor("CompleteMultipartUpload", key)).toEqual([]);
    // Aborted if it had been opened by then (the limit may trip before that).
    const opened = requestsFor("CreateMultipartUpload", key).length;
    expect(requestsFor("AbortMultipartUpload", key)).toHaveLength(opened);
    expect(await openUploads(server, key)).toEqual([]);
    await expectStorageError(adapter.stat(key), "NotFound");
  });
});
