/**
 * A client that disconnects mid-upload, on the s3 backend, as the store sees it. s3rver has no
 * AbortMultipartUpload, so the proof is the requests the gateway's adapter actually sent (the
 * test server's recording proxy) and the uploads s3rver still holds on disk.
 */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import {
  startS3TestServer,
  type S3RecordedRequest,
  type S3TestServer,
} from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendFixture } from "./backends/types.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { partHead, type Part } from "./support/multipart.ts";

const BUCKET = "mediagate-disconnect";
const MiB = 1024 * 1024;

let server: S3TestServer;

/** The s3 fixture, keeping hold of the server so the test can read its request log. */
const recordedS3: BackendFixture = {
  name: "s3 (recorded)",
  async start() {
    server = await startS3TestServer({ buckets: [BUCKET] });
    return {
      env: {
        STORAGE_PROVIDER: "s3",
        S3_BUCKET: BUCKET,
        S3_ENDPOINT: server.endpoint,
        S3_REGION: server.region,
        S3_FORCE_PATH_STYLE: "true",
        S3_PART_SIZE: "5mb",
        S3_QUEUE_SIZE: "2",
        AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      },
      async inventory() {
        const uploads = await server.openUploads(BUCKET);
        return { objects: await server.objects(BUCKET), leftovers: uploads.map((u) => u.uploadId) };
      },
      stop: () => server.stop(),
    };
  },
};

const textParts = (boundary: string): Buffer =>
  Buffer.concat(
    Object.entries({ op: "upload", auth: TOKEN, uid: "7", mid: "9", source: "message" }).map(
      ([name, value]) =>
        Buffer.concat([partHead(boundary, { name, value }), Buffer.from(`${value}\r\n`)]),
    ),
  );

const filePart: Part = { name: "file", filename: "clip.mp4", type: "video/mp4", body: "" };

describe("client disconnects through the gateway on s3", () => {
  const session = new BackendSession(recordedS3);
  beforeAll(() => session.start({ MAX_FILE_SIZE: "100mb" }));
  afterAll(() => session.stop());

  it("aborts the multipart upload once its parts are done, and never completes it", async () => {
    const before = await session.inventory();
    const boundary = `----mediagate${randomBytes(8).toString("hex")}`;
    const req = request(`${session.gateway.url}/upload`, {
      method: "POST",
      headers: {
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
        "Transfer-Encoding": "chunked",
      },
      agent: false,
    });
    const failed = new Promise<Error>((resolve) => req.on("error", resolve));
    req.write(textParts(boundary));
    req.write(partHead(boundary, filePart));
    // More than a part: the multipart upload is open and its first part goes out.
    for (let i = 0; i < 7; i++)
      await new Promise((resolve) => req.write(randomBytes(MiB), resolve));
    await expect
      .poll(
        () =>
          server.proxy.requests.some(
            (r) => r.operation === "UploadPart" && r.outcome === "answered",
          ),
        {
          timeout: 10_000,
          interval: 20,
        },
      )
      .toBe(true);
    req.destroy();
    await failed;

    const key = server.proxy.requestsFor("CreateMultipartUpload")[0]?.key;
    expect(key).toBeDefined();
    await expect
      .poll(() => server.proxy.requestsFor("AbortMultipartUpload", key).length, {
        timeout: 10_000,
        interval: 20,
      })
      .toBe(1);
    await server.proxy.idle();
    const [abort] = server.proxy.requestsFor("AbortMultipartUpload", key) as [S3RecordedRequest];
    expect(abort.status).toBe(204);
    const parts = server.proxy.requestsFor("UploadPart", key);
    expect(parts.length).toBeGreaterThan(0);
    for (const part of parts) {
      expect(part.uploadId).toBe(abort.uploadId);
      expect(part.startedAt, "no part is sent after the abort").toBeLessThan(abort.startedAt);
      if (part.outcome === "answered") expect(part.endedAt).toBeLessThan(abort.startedAt);
    }
    expect(server.proxy.requestsFor("CompleteMultipartUpload", key)).toEqual([]);
    expect(server.proxy.requestsFor("PutObject", key)).toEqual([]);
    await session.expectUntouched(before);
  });

  it("sends nothing at all when the client goes away before a whole part has arrived", async () => {
    const before = await session.inventory();
    const sent = server.proxy.requests.length;
    const boundary = `----mediagate${randomBytes(8).toString("hex")}`;
    const req = request(`${session.gateway.url}/upload`, {
      method: "POST",
      headers: {
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
        "Transfer-Encoding": "chunked",
      },
      agent: false,
    });
    const failed = new Promise<Error>((resolve) => req.on("error", resolve));
    req.write(textParts(boundary));
    req.write(partHead(boundary, filePart));
    await new Promise((resolve) => req.write(randomBytes(2 * MiB), resolve));
    req.destroy();
    await failed;
    await session.expectUntouched(before);
    await server.proxy.idle();
    const writes = server.proxy.requests
      .slice(sent)
      .filter((r) => ["PutObject", "CreateMultipartUpload", "UploadPart"].includes(r.operation));
    expect(writes).toEqual([]);
  });
});
