import { GetObjectTaggingCommand } from "@aws-sdk/client-s3";
import { expectStorageError, patternBody, readAll, streamOf } from "@mediagate/core/conformance";
import type { S3RecordedRequest, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3Adapter } from "../src/index.ts";
import { BUCKET, MiB, adapterFor, openUploads, startServer } from "./helpers.ts";

/**
 * How the S3 adapter stores metadata known only at the end of the body, proven from the
 * requests the recording proxy saw: in the PutObject itself for a single-request body; for
 * a multipart upload in object tags, one small request after completion whatever the size
 * (so the answer does not wait longer for a larger file), or, where tags cannot hold it, by
 * one conditional self-copy (see also final-metadata-copy.test.ts).
 */

const PART = 5 * MiB;

let server: S3TestServer;
let adapter: S3Adapter;
let counter = 0;
const freshKey = (name: string) => `final-metadata/${++counter}/${name}`;
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
    expect(put?.headers["x-amz-meta-mediagate-final"]).toBeUndefined();
    expect(requestsFor("CopyObject", key)).toEqual([]);
    expect(requestsFor("PutObjectTagging", key)).toEqual([]);
    expect(requestsFor("CreateMultipartUpload", key)).toEqual([]);
  });

  it("tags a multipart object after completion: the same two small requests at any size", async () => {
    const sent: { operations: string[]; taggingBytes: number }[] = [];
    for (const parts of [2, 4]) {
      const key = freshKey(`big ${parts} +1 ü.bin`);
      const written = await adapter.write(key, patternBody(parts * PART + 1).stream, {
        contentType: "video/mp4",
        metadata: { uid: "1", size: "unknown" },
        finalMetadata: () => final,
      });
      await server.proxy.idle();
      const [create] = requestsFor("CreateMultipartUpload", key);
      expect(create?.headers["x-amz-meta-mediagate-final"]).toBe("tags");
      const after = afterCompletion(key);
      sent.push({
        operations: after.map((r) => r.operation),
        taggingBytes: after.find((r) => r.operation === "PutObjectTagging")?.bytesIn ?? -1,
      });
      expect(written.metadata).toEqual({ uid: "1", ...final });
      const stat = await adapter.stat(key);
      expect(stat.metadata).toEqual({ uid: "1", ...final });
      expect(stat.etag).toBe(written.etag);
      expect(stat.size).toBe(parts * PART + 1);
      const { info, body } = await adapter.read(key, { range: { start: 0, end: 3 } });
      body.destroy();
      expect(info.metadata).toEqual({ uid: "1", ...final });
    }
    // Nothing after completion depends on the object's size: no copy, one tagging request
    // of the same few hundred bytes, and the HeadObject that reads Last-Modified.
    expect(sent[0]?.operations).toEqual(["PutObjectTagging", "HeadObject"]);
    expect(sent[1]).toEqual(sent[0]);
    expect(sent[0]?.taggingBytes).toBeGreaterThan(0);
    expect(sent[0]?.taggingBytes).toBeLessThan(2048);
  });

  it("keeps values outside the tag character set exactly, and tags only what changed", async () => {
    const key = freshKey("unicode.bin");
    const ending = { filename: "clip 日本 ✓ 100%.mp4", size: "42", uid: "7" };
    await adapter.write(key, patternBody(PART + 1).stream, {
      metadata: { uid: "7", filename: "x" },
      finalMetadata: () => ending,
    });
    const { TagSet } = await adapter.client.send(
      new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }),
    );
    const tags = Object.fromEntries((TagSet ?? []).map((t) => [t.Key, t.Value]));
    expect(Object.keys(tags).sort()).toEqual(["mediagate:filename", "mediagate:size"]);
    expect(tags["mediagate:size"]).toBe("42");
    expect(tags["mediagate:filename"]).toMatch(/^b64:[A-Za-z0-9_-]+$/);
    expect((await adapter.stat(key)).metadata).toEqual(ending);
  });

  it("copies instead when the final metadata does not fit S3's tag limits", async () => {
    const key = freshKey("too-many-tags.bin");
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"]));
    const written = await adapter.write(key, patternBody(PART + 1).stream, {
      finalMetadata: () => many,
    });
    await server.proxy.idle();
    expect(afterCompletion(key).map((r) => r.operation)).toEqual(["CopyObject", "HeadObject"]);
    expect(written.metadata).toEqual(many);
    expect((await adapter.stat(key)).metadata).toEqual(many);
  });

  it("deletes the object and rejects when tagging fails", async () => {
    const key = freshKey("tagging-fails.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "PutObjectTagging" && r.key === key,
      fault: { type: "error", status: 500, code: "InternalError" },
    });
    await expectStorageError(
      adapter.write(key, patternBody(PART + 1).stream, { finalMetadata: () => final }),
      "Unavailable",
    );
    fault.remove();
    await server.proxy.idle();
    expect(requestsFor("DeleteObject", key).map((r) => r.status)).toEqual([204]);
    await expectStorageError(adapter.stat(key), "NotFound");
  });

  it("reports, and leaves alone, another write's object that replaced it before the tags landed", async () => {
    const key = freshKey("raced.bin");
    let release = () => {};
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "PutObjectTagging" && r.key === key,
      fault: { type: "hold", until: new Promise<void>((resolve) => (release = resolve)) },
      times: 1,
    });
    const writing = adapter.write(key, patternBody(PART + 1).stream, {
      finalMetadata: () => final,
    });
    writing.catch(() => undefined);
    try {
      await expect
        .poll(() => requestsFor("PutObjectTagging", key).length, { timeout: 10_000 })
        .toBe(1);
      await adapter.write(key, streamOf("another writer"), { metadata: { who: "other" } });
    } finally {
      release();
    }
    const error = await expectStorageError(writing, "Internal");
    fault.remove();
    expect(error.message).toMatch(/another write replaced/);
    await server.proxy.idle();
    expect(requestsFor("DeleteObject", key)).toEqual([]);
    const { body, info } = await adapter.read(key);
    expect((await readAll(body)).toString()).toBe("another writer");
    expect(info.metadata).toEqual({ who: "other" });
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
});
