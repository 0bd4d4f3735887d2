import { digestStream, patternBody, streamOf } from "@mediagate/core/conformance";
import type { S3RecordedRequest, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MiB, adapterFor, startServer } from "./helpers.ts";

/**
 * What goes on the wire in each checksum mode. MinIO, R2 and other S3-compatible stores
 * reject (or store verbatim) the aws-chunked bodies and checksum trailers recent SDKs send
 * by default; `when-required` must send none of that.
 */

let server: S3TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const uploads = (key: string) =>
  server.proxy.requests.filter(
    (r) => r.key === key && ["PutObject", "UploadPart"].includes(r.operation),
  );

const checksumHeaders = (r: S3RecordedRequest) =>
  Object.keys(r.headers).filter(
    (h) =>
      h.startsWith("x-amz-checksum") ||
      h === "x-amz-sdk-checksum-algorithm" ||
      h === "x-amz-trailer",
  );

describe("checksum: when-required (the default)", () => {
  it("sends plain bodies: a Content-Length, a signed SHA-256, no checksum headers or trailers", async () => {
    const adapter = adapterFor(server);
    for (const [key, size] of [
      ["when-required/small", 1000],
      ["when-required/multipart", 5 * MiB + 100],
    ] as const) {
      const source = patternBody(size);
      await adapter.write(key, source.stream);
      const sent = uploads(key);
      expect(sent.length).toBeGreaterThan(0);
      for (const r of sent) {
        expect(checksumHeaders(r)).toEqual([]);
        expect(r.headers["content-encoding"]).toBeUndefined();
        expect(r.headers["x-amz-content-sha256"]).toMatch(/^[0-9a-f]{64}$/);
        expect(Number(r.headers["content-length"])).toBe(r.bytesIn);
      }
      const { body } = await adapter.read(key);
      expect((await digestStream(body)).sha256).toBe(await source.sha256);
    }
  });
});

describe("checksum: when-supported", () => {
  it("adds CRC32 checksums, still round-trips, and still signs fetchable URLs", async () => {
    const adapter = adapterFor(server, { checksum: "when-supported" });
    const key = "when-supported/multipart";
    const source = patternBody(5 * MiB + 100);
    await adapter.write(key, source.stream);
    for (const r of uploads(key))
      expect(r.headers["x-amz-checksum-crc32"]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const { body } = await adapter.read(key);
    expect((await digestStream(body)).sha256).toBe(await source.sha256);

    await adapter.write("when-supported/signed", streamOf("signed"));
    const response = await fetch(
      await adapter.signedUrl("when-supported/signed", { expiresIn: 60 }),
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("signed");
  });
});
