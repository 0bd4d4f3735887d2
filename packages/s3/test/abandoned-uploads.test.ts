import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { KeyPrefix } from "@mediagate/core";
import { expectStorageError } from "@mediagate/core/conformance";
import type { S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abortAbandonedUploads } from "../src/abandoned-uploads.ts";
import type { S3Adapter } from "../src/index.ts";
import { BUCKET, adapterFor, openUploads, startServer } from "./helpers.ts";

/**
 * removeAbandonedUploads against the test server's ListMultipartUploads and
 * AbortMultipartUpload (s3rver has neither; the test server implements both from the S3
 * API reference), with uploads aged by moving their initiation time back, as a process
 * that crashed yesterday would have left them.
 */

const HOUR = 3600_000;
let server: S3TestServer;
let adapter: S3Adapter;
let counter = 0;
const freshPrefix = () => `abandoned/${++counter}`;

beforeAll(async () => {
  server = await startServer();
  adapter = adapterFor(server);
});
afterAll(() => server.stop());

/** An open upload with one part, begun `ageMs` ago. */
async function leave(key: string, ageMs = 0): Promise<string> {
  const { UploadId } = await adapter.client.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }),
  );
  if (!UploadId) throw new Error("no upload id");
  await adapter.client.send(
    new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: "part" }),
  );
  if (ageMs > 0) await server.backdateUpload(BUCKET, UploadId, ageMs);
  return UploadId;
}

const openUnder = async (prefix: string) =>
  (await server.openUploads(BUCKET)).filter((u) => u.key?.startsWith(prefix));

describe("S3 removeAbandonedUploads", () => {
  it("aborts uploads begun before the bound and keeps younger ones", async () => {
    const prefix = freshPrefix();
    const old = await leave(`${prefix}/yesterday.bin`, 25 * HOUR);
    const recent = await leave(`${prefix}/an-hour-ago.bin`, HOUR);
    const fresh = await leave(`${prefix}/now.bin`);
    const scoped = adapterFor(server, { prefix });
    server.proxy.clear();

    expect(await scoped.removeAbandonedUploads({ olderThanMs: 24 * HOUR })).toEqual({
      removed: 1,
    });
    const [list] = server.proxy.requestsFor("ListMultipartUploads");
    expect(new URL(list?.url ?? "", "http://x").searchParams.get("prefix")).toBe(`${prefix}/`);
    expect(server.proxy.requestsFor("AbortMultipartUpload").map((r) => r.uploadId)).toEqual([old]);
    expect((await openUnder(prefix)).map((u) => u.uploadId).sort()).toEqual([recent, fresh].sort());

    expect(await scoped.removeAbandonedUploads({ olderThanMs: 30 * 60_000 })).toEqual({
      removed: 1,
    });
    expect((await openUnder(prefix)).map((u) => u.uploadId)).toEqual([fresh]);
    expect(await scoped.removeAbandonedUploads({ olderThanMs: 0 })).toEqual({ removed: 1 });
    expect(await openUnder(prefix)).toEqual([]);
  });

  it("follows the listing's pages", async () => {
    const prefix = freshPrefix();
    for (let i = 0; i < 5; i++) await leave(`${prefix}/${i % 2}/upload-${i}.bin`, 2 * HOUR);
    server.proxy.clear();
    const removed = await abortAbandonedUploads({
      client: adapter.client,
      bucket: BUCKET,
      prefix: new KeyPrefix(prefix),
      before: new Date(Date.now() - HOUR),
      signal: undefined,
      pageSize: 2,
    });
    expect(removed).toBe(5);
    expect(server.proxy.requestsFor("ListMultipartUploads")).toHaveLength(3);
    expect(await openUnder(prefix)).toEqual([]);
  });

  it("leaves uploads for names that are not keys: another tool's, not the adapter's", async () => {
    const prefix = freshPrefix();
    const foreign = await leave(`${prefix}/.staging/tool-upload`, 48 * HOUR);
    const ours = await leave(`${prefix}/ours.bin`, 48 * HOUR);
    expect(
      await adapterFor(server, { prefix }).removeAbandonedUploads({ olderThanMs: HOUR }),
    ).toEqual({ removed: 1 });
    expect((await openUnder(prefix)).map((u) => u.uploadId)).toEqual([foreign]);
    expect(ours).not.toBe(foreign);
    await adapter.client.send(
      new AbortMultipartUploadCommand({
        Bucket: BUCKET,
        Key: `${prefix}/.staging/tool-upload`,
        UploadId: foreign,
      }),
    );
  });

  it("does not count an upload that someone else aborted or completed meanwhile", async () => {
    const prefix = freshPrefix();
    const key = `${prefix}/raced.bin`;
    const uploadId = await leave(key, 2 * HOUR);
    let release = () => {};
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "AbortMultipartUpload" && r.uploadId === uploadId,
      fault: { type: "hold", until: new Promise<void>((resolve) => (release = resolve)) },
      times: 1,
    });
    const removing = adapterFor(server, { prefix }).removeAbandonedUploads({ olderThanMs: HOUR });
    try {
      await expect
        .poll(() => server.proxy.requestsFor("AbortMultipartUpload", key).length, {
          timeout: 10_000,
        })
        .toBe(1);
      // Another instance's sweep gets there first.
      await adapter.client.send(
        new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }),
      );
    } finally {
      release();
      fault.remove();
    }
    expect(await removing).toEqual({ removed: 0 });
    expect(await openUploads(server, key)).toEqual([]);
  });

  it("reports a refused listing as Unauthorized", async () => {
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "ListMultipartUploads",
      fault: { type: "error", status: 403, code: "AccessDenied" },
    });
    try {
      await expectStorageError(
        adapter.removeAbandonedUploads({ olderThanMs: HOUR }),
        "Unauthorized",
      );
    } finally {
      fault.remove();
    }
  });
});
