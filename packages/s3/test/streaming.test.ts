import { digestStream, patternBody } from "@mediagate/core/conformance";
import type { S3RecordedRequest, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { choosePartSize } from "../src/streaming-upload.ts";
import { MiB, adapterFor, meteredBody, openUploads, startServer } from "./helpers.ts";

const PART = 5 * MiB;

let server: S3TestServer;
let counter = 0;
const freshKey = (name: string) => `streaming/${++counter}/${name}`;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const operations = (key: string) =>
  server.proxy.requests.filter((r) => r.key === key).map((r) => r.operation);

/** The most requests of `parts` that were on the wire at the same moment. */
function peakConcurrency(parts: S3RecordedRequest[]): number {
  const events = parts.flatMap((p) => [
    { at: p.startedAt, delta: 1 },
    { at: p.endedAt ?? Infinity, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at);
  let now = 0;
  let peak = 0;
  for (const e of events) peak = Math.max(peak, (now += e.delta));
  return peak;
}

describe("one request or many", () => {
  it("sends a body of exactly one part as a single PutObject", async () => {
    const key = freshKey("one-part.bin");
    const adapter = adapterFor(server, { partSize: PART });
    const info = await adapter.write(key, meteredBody(PART).stream);
    expect(info.size).toBe(PART);
    await server.proxy.idle();
    expect(operations(key)).toEqual(["PutObject", "HeadObject"]);
    const [put] = server.proxy.requestsFor("PutObject", key);
    expect(put?.headers["content-length"]).toBe(String(PART));
  });

  it("goes multipart one byte later, with the parts in order and the bytes intact", async () => {
    const key = freshKey("two-parts.bin");
    const adapter = adapterFor(server, { partSize: PART });
    const source = patternBody(PART + 1);
    await adapter.write(key, source.stream);
    await server.proxy.idle();
    expect(operations(key)).toEqual([
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "CompleteMultipartUpload",
      "HeadObject",
    ]);
    const parts = server.proxy.requestsFor("UploadPart", key);
    expect(parts.map((p) => [p.partNumber, p.bytesIn]).sort()).toEqual([
      [1, PART],
      [2, 1],
    ]);
    const { body } = await adapter.read(key);
    expect(await digestStream(body)).toEqual({ sha256: await source.sha256, bytes: PART + 1 });
  });

  it("sets content type, disposition and metadata on multipart objects too", async () => {
    const key = freshKey("described.mp4");
    const adapter = adapterFor(server, { partSize: PART });
    const written = await adapter.write(key, meteredBody(2 * PART + 3).stream, {
      contentType: "video/mp4",
      contentDisposition: 'inline; filename="clip.mp4"',
      metadata: { uid: "42", caption: "ünïcödé ✓ & 100%" },
    });
    const stat = await adapter.stat(key);
    for (const info of [written, stat]) {
      expect(info).toMatchObject({
        size: 2 * PART + 3,
        contentType: "video/mp4",
        contentDisposition: 'inline; filename="clip.mp4"',
        metadata: { uid: "42", caption: "ünïcödé ✓ & 100%" },
      });
    }
    expect(written.etag).toBe(stat.etag);
    // Headers carry ASCII only: the metadata travelled percent-encoded.
    const [create] = server.proxy.requestsFor("CreateMultipartUpload", key);
    expect(create?.headers["x-amz-meta-caption"]).toBe(encodeURIComponent("ünïcödé ✓ & 100%"));
  });

  it("grows the part size only when a declared length would need more than 10,000 parts", () => {
    expect(choosePartSize(PART, undefined)).toBe(PART);
    expect(choosePartSize(PART, 2 * 1024 * MiB)).toBe(PART);
    expect(choosePartSize(PART, 10_000 * PART)).toBe(PART);
    expect(choosePartSize(PART, 10_000 * PART + 1)).toBe(PART + 1);
    const huge = 100 * 1024 * 1024 * MiB;
    expect(choosePartSize(PART, huge) * 10_000).toBeGreaterThanOrEqual(huge);
  });
});

describe("bounded memory", () => {
  it("keeps at most queueSize parts on the wire and reads no further ahead than partSize × (queueSize + 1)", async () => {
    const key = freshKey("held.bin");
    const queueSize = 2;
    const adapter = adapterFor(server, { partSize: PART, queueSize });
    // Every part is taken but never answered: the write can only go on reading the body
    // for as long as it is willing to hold parts in memory.
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key,
      fault: { type: "hang" },
    });
    const body = meteredBody(200 * MiB);
    const controller = new AbortController();
    const writing = adapter.write(key, body.stream, { signal: controller.signal });
    writing.catch(() => undefined);
    await vi.waitFor(
      () => {
        const parts = server.proxy.requestsFor("UploadPart", key);
        expect(parts.filter((p) => p.bytesIn === PART)).toHaveLength(queueSize);
      },
      { timeout: 10_000, interval: 10 },
    );
    const parts = server.proxy.requestsFor("UploadPart", key);
    expect(parts).toHaveLength(queueSize);
    // queueSize parts on the wire, one filled and waiting for a slot, and the few 64 KiB
    // chunks the streams between the body and the write hold.
    expect(body.produced).toBeLessThanOrEqual(PART * (queueSize + 1) + 4 * 64 * 1024);
    controller.abort();
    await expect(writing).rejects.toMatchObject({ code: "Aborted" });
    fault.remove();
    await server.proxy.idle();
    expect(await openUploads(server, key)).toEqual([]);
  });

  it("never has more than queueSize parts in flight on a long upload", async () => {
    const key = freshKey("long.bin");
    const queueSize = 3;
    const adapter = adapterFor(server, { partSize: PART, queueSize });
    await adapter.write(key, meteredBody(12 * PART + 5).stream);
    const parts = server.proxy.requestsFor("UploadPart", key);
    expect(parts).toHaveLength(13);
    expect(peakConcurrency(parts)).toBeLessThanOrEqual(queueSize);
  });

  it("sends every part from queueSize + 1 buffers, reused, whatever the body's length", async () => {
    const key = freshKey("recycled.bin");
    const queueSize = 2;
    const adapter = adapterFor(server, { partSize: PART, queueSize });
    // Reads what the SDK is asked to send (no request is changed): the memory behind each part.
    const bodies: Uint8Array[] = [];
    adapter.client.middlewareStack.add(
      (next) => (args) => {
        const input = args.input as { Body?: unknown; PartNumber?: number };
        if (input.PartNumber !== undefined && input.Body instanceof Uint8Array) {
          bodies.push(input.Body);
        }
        return next(args);
      },
      { step: "initialize", name: "recordPartBodies" },
    );
    const source = patternBody(9 * PART + 7);
    await adapter.write(key, source.stream);
    expect(bodies).toHaveLength(10);
    const memory = new Set(bodies.map((b) => b.buffer));
    expect(memory.size).toBeLessThanOrEqual(queueSize + 1);
    const { body } = await adapter.read(key);
    expect(await digestStream(body)).toEqual({ sha256: await source.sha256, bytes: 9 * PART + 7 });
  });
});
