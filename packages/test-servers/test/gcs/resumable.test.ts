import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGcsTestServer, type GcsTestServer } from "../../src/gcs/index.ts";
import { expectErrorBody, hashesOf } from "./helpers.ts";

// Written from "Perform resumable uploads" in the Cloud Storage docs: initiate with
// uploadType=resumable (Location: session URI), upload in one PUT or in chunks of multiples
// of 256 KiB with Content-Range, 308 + Range while incomplete, status checks with
// `bytes */SIZE`, cancellation with DELETE answered 499.

const KiB = 1024;
const CHUNK = 256 * KiB;
let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsTestServer({ buckets: ["resumable-bucket"] });
});
afterAll(() => server.stop());

const bytesOf = (size: number, seed = 1) =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff));

async function initiate(
  name: string,
  metadata?: unknown,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(
    `${server.url}/upload/storage/v1/b/resumable-bucket/o?uploadType=resumable&name=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: {
        ...(metadata ? { "content-type": "application/json; charset=UTF-8" } : {}),
        ...headers,
      },
      ...(metadata ? { body: JSON.stringify(metadata) } : {}),
    },
  );
  expect(response.status).toBe(200);
  const location = response.headers.get("location");
  expect(location).toMatch(/upload_id=/);
  return location ?? "";
}

const putChunk = (uri: string, contentRange: string | undefined, body: Buffer = Buffer.alloc(0)) =>
  fetch(uri, {
    method: "PUT",
    headers: contentRange ? { "content-range": contentRange } : {},
    body,
  });

describe("resumable uploads", () => {
  it("completes in a single PUT with the whole body; metadata comes from the initiation", async () => {
    const data = bytesOf(1000);
    const uri = await initiate(
      "single.bin",
      { contentDisposition: "attachment", metadata: { a: "b" } },
      {
        "x-upload-content-type": "audio/ogg",
      },
    );
    expect(server.openSessions()).toHaveLength(1);
    const response = await putChunk(uri, undefined, data);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      name: "single.bin",
      contentType: "audio/ogg",
      contentDisposition: "attachment",
      metadata: { a: "b" },
      size: "1000",
      ...hashesOf(data),
    });
    expect(server.openSessions()).toEqual([]);
  });

  it("takes chunks with an unknown total, answers 308 with Range, and finishes on the sized last chunk", async () => {
    const data = bytesOf(2 * CHUNK + 10, 7);
    const uri = await initiate("chunked.bin");
    const first = await putChunk(uri, `bytes 0-${CHUNK - 1}/*`, data.subarray(0, CHUNK));
    expect(first.status).toBe(308);
    expect(first.headers.get("range")).toBe(`bytes=0-${CHUNK - 1}`);
    expect(server.objects()).not.toContain("resumable-bucket/chunked.bin");

    const status = await putChunk(uri, "bytes */*");
    expect(status.status).toBe(308);
    expect(status.headers.get("range")).toBe(`bytes=0-${CHUNK - 1}`);

    const second = await putChunk(
      uri,
      `bytes ${CHUNK}-${2 * CHUNK - 1}/*`,
      data.subarray(CHUNK, 2 * CHUNK),
    );
    expect(second.headers.get("range")).toBe(`bytes=0-${2 * CHUNK - 1}`);
    const last = await putChunk(
      uri,
      `bytes ${2 * CHUNK}-${data.length - 1}/${data.length}`,
      data.subarray(2 * CHUNK),
    );
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({ size: String(data.length), ...hashesOf(data) });
    const stored = await fetch(
      `${server.url}/storage/v1/b/resumable-bucket/o/chunked.bin?alt=media`,
    );
    expect(Buffer.from(await stored.arrayBuffer()).equals(data)).toBe(true);

    // A completed session answers with the object from then on.
    const again = await putChunk(uri, `bytes */${data.length}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ name: "chunked.bin" });
  });

  it("answers a status check before any data with 308 and no Range header", async () => {
    const uri = await initiate("nothing-yet.bin");
    const status = await putChunk(uri, "bytes */*");
    expect(status.status).toBe(308);
    expect(status.headers.get("range")).toBeNull();
    await fetch(uri, { method: "DELETE" });
  });

  it("refuses a non-final chunk under 256 KiB, and keeps only whole 256 KiB of a larger one", async () => {
    const data = bytesOf(3 * CHUNK);
    const uri = await initiate("granular.bin");
    await expectErrorBody(await putChunk(uri, "bytes 0-999/*", data.subarray(0, 1000)), 400);
    // 1.5 chunks sent: only the first whole chunk is persisted, the client resends the rest.
    const partial = await putChunk(
      uri,
      `bytes 0-${CHUNK + CHUNK / 2 - 1}/*`,
      data.subarray(0, CHUNK + CHUNK / 2),
    );
    expect(partial.status).toBe(308);
    expect(partial.headers.get("range")).toBe(`bytes=0-${CHUNK - 1}`);
    // Resending overlapping bytes is fine: what is already persisted is skipped.
    const rest = await putChunk(
      uri,
      `bytes ${CHUNK / 2}-${data.length - 1}/${data.length}`,
      data.subarray(CHUNK / 2),
    );
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ size: String(data.length), ...hashesOf(data) });
  });

  it("refuses gaps, lengths that disagree with Content-Range, and totals that disagree with X-Upload-Content-Length", async () => {
    const uri = await initiate("strict.bin", undefined, { "x-upload-content-length": "20" });
    await expectErrorBody(await putChunk(uri, "bytes 5-19/20", bytesOf(15)), 400);
    await expectErrorBody(await putChunk(uri, "bytes 0-19/20", bytesOf(19)), 400);
    await expectErrorBody(await putChunk(uri, "bytes 0-20/21", bytesOf(21)), 400);
    await expectErrorBody(await putChunk(uri, "bytes 0-9/5", bytesOf(10)), 400);
    await expectErrorBody(await putChunk(uri, "octets 0-9/20", bytesOf(10)), 400);
    const status = await putChunk(uri, "bytes */20");
    expect(status.status).toBe(308);
    expect(status.headers.get("range")).toBeNull();
    expect((await putChunk(uri, "bytes 0-19/20", bytesOf(20))).status).toBe(200);
  });

  it("accepts the SDK's `bytes 0-*/*` form: the rest of the object is this request's body", async () => {
    const uri = await initiate("star.bin");
    const response = await putChunk(uri, "bytes 0-*/*", bytesOf(3000));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ size: "3000" });
  });

  it("finishes an empty object with `bytes */0`", async () => {
    const uri = await initiate("empty.bin");
    const response = await putChunk(uri, "bytes */0");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ size: "0", ...hashesOf(Buffer.alloc(0)) });
  });

  it("cancels with DELETE (499); the session then refuses data and no object appears", async () => {
    const uri = await initiate("cancelled.bin");
    expect((await putChunk(uri, `bytes 0-${CHUNK - 1}/*`, bytesOf(CHUNK))).status).toBe(308);
    expect(server.openSessions()).toEqual([
      expect.stringContaining(`cancelled.bin (${CHUNK} bytes received)`),
    ]);
    const cancelled = await fetch(uri, { method: "DELETE" });
    await expectErrorBody(cancelled, 499);
    expect(server.openSessions()).toEqual([]);
    await expectErrorBody(
      await putChunk(uri, `bytes ${CHUNK}-${CHUNK + 9}/${CHUNK + 10}`, bytesOf(10)),
      499,
    );
    expect(server.objects()).not.toContain("resumable-bucket/cancelled.bin");
  });

  it("ends a PUT still streaming into the session when the session is cancelled", async () => {
    const uri = new URL(await initiate("in-flight.bin"));
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(
        uri,
        { method: "PUT", headers: { "content-range": "bytes 0-*/*" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      // Some bytes, then nothing: a client whose body stalled.
      req.write(bytesOf(64 * KiB));
    });
    await expect
      .poll(() => server.openSessions()[0] ?? "")
      .toContain(`(${64 * KiB} bytes received)`);
    await expectErrorBody(await fetch(uri, { method: "DELETE" }), 499);
    expect(await answer).toBe(499);
    expect(server.objects()).not.toContain("resumable-bucket/in-flight.bin");
  });

  it("forgets a chunk whose request broke off, so the client can resume from the Range", async () => {
    const data = bytesOf(2 * CHUNK, 3);
    const uri = new URL(await initiate("resume.bin"));
    await putChunk(uri.href, `bytes 0-${CHUNK - 1}/*`, data.subarray(0, CHUNK));
    await new Promise<void>((resolve) => {
      const req = request(uri, {
        method: "PUT",
        headers: { "content-range": `bytes ${CHUNK}-${2 * CHUNK - 1}/${2 * CHUNK}` },
      });
      req.on("error", () => resolve());
      req.write(data.subarray(CHUNK, CHUNK + 1000), () => setImmediate(() => req.destroy()));
    });
    await expect
      .poll(async () => (await putChunk(uri.href, "bytes */*")).headers.get("range"))
      .toBe(`bytes=0-${CHUNK - 1}`);
    const done = await putChunk(
      uri.href,
      `bytes ${CHUNK}-${2 * CHUNK - 1}/${2 * CHUNK}`,
      data.subarray(CHUNK),
    );
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ ...hashesOf(data) });
  });

  it("answers 404 for an unknown session", async () => {
    await expectErrorBody(
      await putChunk(
        `${server.url}/upload/storage/v1/b/resumable-bucket/o?uploadType=resumable&upload_id=nope`,
        "bytes */*",
      ),
      404,
    );
  });
});
