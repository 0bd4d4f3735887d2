import { expectStorageError, patternBody } from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { GcsAdapter } from "../src/index.ts";
import { FAST_RETRY, TEST_PROJECT } from "./helpers.ts";

/**
 * A client that hangs up once its file is sent aborts the write while the request that
 * creates the object is on its way. Here GCS has already stored the object and only its
 * answer is late (the test server holds it back): without care the object outlives the
 * abort, since the SDK never reports a request it was told to drop.
 */

const BUCKET = "mediagate-abort-race";
const KiB = 1024;

let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsTestServer({ buckets: [BUCKET] });
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
  server.clearFaults();
});

function adapter(singleRequestMaxBytes: number): GcsAdapter {
  return new GcsAdapter({
    bucket: BUCKET,
    projectId: TEST_PROJECT,
    apiEndpoint: server.url,
    singleRequestMaxBytes,
    chunkSize: 256 * KiB,
    retry: FAST_RETRY,
    abortGraceMs: 10_000,
  });
}

/** Writes `key`, holds the answer of the request matching `url` and aborts once GCS has stored it. */
async function abortOnceStored(writer: GcsAdapter, key: string, size: number, url: RegExp) {
  let release = () => {};
  server.injectFault({
    method: url.source.includes("upload_id") ? "PUT" : "POST",
    url,
    holdAnswer: new Promise<void>((resolve) => (release = resolve)),
  });
  const controller = new AbortController();
  const writing = writer.write(key, patternBody(size).stream, { signal: controller.signal });
  writing.catch(() => undefined);
  try {
    await vi.waitFor(() => expect(server.objects()).toContain(`${BUCKET}/${key}`), {
      timeout: 10_000,
      interval: 5,
    });
    controller.abort(new Error("the client hung up after sending its file"));
    return { writing, release };
  } catch (err) {
    release();
    throw err;
  }
}

describe("an abort while GCS has stored the object but not yet answered", () => {
  it("single request: waits for the answer, then deletes the generation it made", async () => {
    const key = "race/single.bin";
    const { writing, release } = await abortOnceStored(
      adapter(64 * KiB),
      key,
      KiB,
      /uploadType=multipart/,
    );
    release();
    await expectStorageError(writing, "Aborted");
    // Checked at once: the object is gone by the time the write rejects.
    expect(server.objects()).not.toContain(`${BUCKET}/${key}`);
    const removals = server.requests.filter((r) => r.method === "DELETE");
    expect(removals).toHaveLength(1);
    expect(removals[0]?.url).toMatch(/[?&]ifGenerationMatch=\d+/);
  });

  it("resumable: asks the session that will not cancel, and deletes what it completed", async () => {
    const key = "race/resumable.bin";
    const { writing, release } = await abortOnceStored(adapter(0), key, KiB, /upload_id=/);
    try {
      await expectStorageError(writing, "Aborted");
      expect(server.objects()).not.toContain(`${BUCKET}/${key}`);
      const calls = server.requests.map((r) => `${r.method} ${r.headers["content-range"] ?? ""}`);
      // The cancel (refused: the upload was complete), the status query, the delete.
      expect(calls.slice(-3)).toEqual(["DELETE ", "PUT bytes */*", "DELETE "]);
      expect(server.requests.at(-1)?.url).toMatch(/[?&]ifGenerationMatch=\d+/);
      expect(server.openSessions()).toEqual([]);
    } finally {
      release();
    }
  });

  it("leaves nothing to ask when the cancel wins: no status query, no delete", async () => {
    const key = "race/cancelled.bin";
    const writer = adapter(0);
    let release = () => {};
    // The final PUT waits before GCS handles it: the cancel gets there first.
    server.injectFault({
      method: "PUT",
      url: /upload_id=/,
      before: () => new Promise<void>((resolve) => (release = resolve)),
    });
    const controller = new AbortController();
    const writing = writer.write(key, patternBody(KiB).stream, { signal: controller.signal });
    writing.catch(() => undefined);
    await vi.waitFor(() => expect(server.requests.some((r) => r.method === "PUT")).toBe(true), {
      timeout: 10_000,
      interval: 5,
    });
    controller.abort();
    await expectStorageError(writing, "Aborted");
    release();
    const calls = server.requests.map((r) => r.method);
    expect(calls.filter((m) => m === "DELETE")).toHaveLength(1);
    expect(server.requests.filter((r) => r.headers["content-range"] === "bytes */*")).toEqual([]);
    await vi.waitFor(() => expect(server.openSessions()).toEqual([]));
    expect(server.objects()).not.toContain(`${BUCKET}/${key}`);
  });
});
