/**
 * Bounded memory on the local-folder backend: a 200 MB upload round-trips byte for byte while
 * the gateway process's peak resident memory (read from /proc, outside the process) stays far
 * below the file's size, both for a file streamed straight into storage and for one spooled
 * because it came before its fields.
 */
import { patternBody, digestStream } from "@mediagate/core/conformance";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fsBackend } from "./backends/fs.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { postForm } from "./support/http.ts";
import type { Part } from "./support/multipart.ts";

const MB = 1024 * 1024;
const LARGE = 200 * MB;
/**
 * What an upload may add to the gateway's peak memory. Measured here: +19 MB for 20 MB,
 * +51 MB for 100 MB, +62 MB for 400 MB — garbage the collector has not reclaimed yet, which
 * levels off; holding the file would add at least its 200 MB.
 */
const MAX_GROWTH = 100 * MB;

const fields: Part[] = Object.entries({
  op: "upload",
  auth: TOKEN,
  uid: "7",
  mid: "8",
  source: "message",
}).map(([name, value]) => ({ name, value }));

/** Streams a download through sha256 without holding it. */
function downloadDigest(url: string): Promise<{ status: number; sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      digestStream(res).then((d) => resolve({ status: res.statusCode ?? 0, ...d }), reject);
    })
      .on("error", reject)
      .end();
  });
}

describe("200 MB uploads on fs with bounded gateway memory", () => {
  const session = new BackendSession(fsBackend);
  let baseline = 0;

  beforeAll(async () => {
    await session.start({ MAX_FILE_SIZE: "300mb" });
    // Warm up: the first upload loads and compiles the upload path.
    const warm = await postForm(`${session.gateway.url}/upload`, [
      ...fields,
      { name: "file", filename: "w.bin", body: Buffer.alloc(1000) },
    ]);
    expect(warm.status).toBe(200);
    baseline = session.gateway.peakRss();
  });
  afterAll(() => session.stop());

  it.each([
    ["streamed straight into storage", "fields first"],
    ["spooled because the file came first", "file first"],
  ])(
    "round-trips 200 MB %s",
    async (_how, order) => {
      const body = patternBody(LARGE, 256 * 1024);
      const filePart: Part = {
        name: "file",
        filename: "big.bin",
        type: "video/mp4",
        body: body.stream,
      };
      const answer = await postForm(
        `${session.gateway.url}/upload`,
        order === "fields first" ? [...fields, filePart] : [filePart, ...fields],
      );
      expect(answer.status, answer.text).toBe(200);
      const url = session.local((answer.json as { url: string }).url);
      const download = await downloadDigest(url);
      expect(download).toEqual({ status: 200, sha256: await body.sha256, bytes: LARGE });

      const peak = session.gateway.peakRss();
      expect(
        peak - baseline,
        `peak ${Math.round(peak / MB)} MB, baseline ${Math.round(baseline / MB)} MB`,
      ).toBeLessThan(MAX_GROWTH);
      const info = await session.adapter.stat(session.keyOf((answer.json as { url: string }).url));
      expect(info.size).toBe(LARGE);
      await session.adapter.delete(info.key);
    },
    180_000,
  );
});
