import {
  patternBody,
  stallingBody,
  streamOf,
  expectStorageError,
} from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GcsAdapter } from "../src/index.ts";
import { FAST_RETRY, TEST_PROJECT } from "./helpers.ts";

const BUCKET = "mediagate-writes";
const KiB = 1024;
const MiB = 1024 * KiB;

let server: GcsTestServer;
let adapter: GcsAdapter;

beforeAll(async () => {
  server = await startGcsTestServer({ buckets: [BUCKET] });
  adapter = new GcsAdapter({
    bucket: BUCKET,
    projectId: TEST_PROJECT,
    apiEndpoint: server.url,
    singleRequestMaxBytes: 512 * KiB,
    chunkSize: 256 * KiB,
    retry: FAST_RETRY,
  });
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
  server.clearFaults();
});

const uploads = () =>
  server.requests
    .filter((r) => r.url.startsWith("/upload/") || r.method === "PATCH")
    .map((r) => {
      const url = new URL(r.url, "http://x");
      const kind = url.searchParams.get("upload_id")
        ? "session"
        : url.searchParams.get("uploadType");
      return `${r.method} ${kind}${r.headers["content-range"] ? ` ${r.headers["content-range"]}` : ""}`;
    });

describe("GcsAdapter writes", () => {
  it("sends a body within singleRequestMaxBytes as one multipart request", async () => {
    const info = await adapter.write("one/request.txt", streamOf("small"), {
      contentType: "text/plain",
    });
    expect(uploads()).toEqual(["POST multipart"]);
    expect(info.size).toBe(5);
    expect(server.openSessions()).toEqual([]);
  });

  it("streams a larger body through a resumable session in 256 KiB-multiple chunks", async () => {
    const size = 800 * KiB + 7;
    const { stream } = patternBody(size);
    const info = await adapter.write("resumable/big.bin", stream, {
      contentType: "video/mp4",
      contentDisposition: 'inline; filename="big.mp4"',
      metadata: { uid: "7" },
    });
    expect(uploads()).toEqual([
      "POST resumable",
      "PUT session bytes 0-262143/*",
      "PUT session bytes 262144-524287/*",
      "PUT session bytes 524288-786431/*",
      `PUT session bytes 786432-${size - 1}/${size}`,
    ]);
    // Everything was set by the request that created the object, nothing patched on later.
    expect(info).toMatchObject({
      size,
      contentType: "video/mp4",
      contentDisposition: 'inline; filename="big.mp4"',
      metadata: { uid: "7" },
    });
    const session = server.requests.find((r) => r.url.includes("uploadType=resumable"));
    expect(session?.headers["x-upload-content-type"]).toBe("video/mp4");
  });

  it("announces a known contentLength to the session, so GCS can check the total", async () => {
    const size = 600 * KiB;
    await adapter.write("resumable/known.bin", patternBody(size).stream, { contentLength: size });
    const session = server.requests.find((r) => r.url.includes("uploadType=resumable"));
    expect(session?.headers["x-upload-content-length"]).toBe(String(size));
    expect(uploads().at(-1)).toBe(`PUT session bytes 524288-${size - 1}/${size}`);
  });

  it("rejects a body shorter than contentLength with InvalidArgument and stores nothing", async () => {
    await expectStorageError(
      adapter.write("lies/short.txt", streamOf("abc"), { contentLength: 10 }),
      "InvalidArgument",
    );
    expect(uploads()).toEqual([]);
    expect(server.objects()).not.toContain(`${BUCKET}/lies/short.txt`);
  });

  it("cancels the resumable session when aborted mid-upload", async () => {
    const body = stallingBody(700 * KiB);
    const controller = new AbortController();
    const writing = adapter.write("aborted/session.bin", body.stream, {
      signal: controller.signal,
    });
    writing.catch(() => undefined);
    await body.drained;
    // The session is open and has taken whole chunks before the abort.
    await expect.poll(() => uploads().filter((u) => u.startsWith("PUT")).length).toBeGreaterThan(0);
    controller.abort();
    await expectStorageError(writing, "Aborted");
    expect(uploads().at(-1)).toBe("DELETE session");
    expect(server.openSessions()).toEqual([]);
    expect(server.objects()).not.toContain(`${BUCKET}/aborted/session.bin`);
  });

  it("cancels the session and reports Unavailable when GCS keeps failing a chunk", async () => {
    server.injectFault({ method: "PUT", url: "upload_id=", status: 503, times: Infinity });
    await expectStorageError(
      adapter.write("failing/chunk.bin", patternBody(700 * KiB).stream),
      "Unavailable",
    );
    server.clearFaults();
    expect(uploads().at(-1)).toBe("DELETE session");
    expect(server.openSessions()).toEqual([]);
    expect(server.objects()).not.toContain(`${BUCKET}/failing/chunk.bin`);
  });

  it("reports Unauthorized, not NotFound, when the upload is refused with 403", async () => {
    server.injectFault({ method: "POST", url: "uploadType=multipart", status: 403 });
    await expectStorageError(adapter.write("denied/x.txt", streamOf("x")), "Unauthorized");
    server.injectFault({ method: "POST", url: "uploadType=resumable", status: 403 });
    await expectStorageError(
      adapter.write("denied/y.bin", patternBody(MiB).stream),
      "Unauthorized",
    );
    expect(server.openSessions()).toEqual([]);
  });
});

describe("GcsAdapter finalMetadata", () => {
  const final = { size: "123", sha256: "cd".repeat(32) };
  const patches = () => server.requests.filter((r) => r.method === "PATCH");
  const deletes = () => server.requests.filter((r) => r.method === "DELETE");

  it("sends a single-request body with its final metadata in that request, no patch", async () => {
    const info = await adapter.write("final/small.txt", streamOf("small"), {
      metadata: { uid: "7" },
      finalMetadata: () => final,
    });
    expect(uploads()).toEqual(["POST multipart"]);
    expect(info.metadata).toEqual({ uid: "7", ...final });
  });

  it("patches a resumable upload's metadata onto the generation it created", async () => {
    const key = "final/resumable ü+1.bin";
    const info = await adapter.write(key, patternBody(600 * KiB).stream, {
      contentType: "video/mp4",
      metadata: { uid: "7" },
      finalMetadata: () => final,
    });
    expect(uploads().at(-1)).toBe("PATCH null");
    const [patch, ...more] = patches();
    expect(more).toEqual([]);
    const generation = new URL(patch?.url ?? "", "http://x").searchParams.get("ifGenerationMatch");
    expect(generation).toMatch(/^\d+$/);
    const stored = await adapter.stat(key);
    expect(stored.metadata).toEqual({ uid: "7", ...final });
    expect(stored.contentType).toBe("video/mp4");
    expect(info.metadata).toEqual(stored.metadata);
    expect(info.etag).toBe(stored.etag);
  });

  it("costs one small PATCH after a resumable upload, whatever the object's size", async () => {
    const after: { requests: string[]; patchBytes: number }[] = [];
    for (const size of [600 * KiB, 3 * MiB]) {
      server.requests.length = 0;
      await adapter.write(`final/sized-${size}.bin`, patternBody(size).stream, {
        metadata: { uid: "7" },
        finalMetadata: () => final,
      });
      const lastPut = server.requests.findLastIndex((r) => r.method === "PUT");
      const rest = server.requests.slice(lastPut + 1);
      after.push({
        requests: rest.map((r) => r.method),
        patchBytes: Number(rest.find((r) => r.method === "PATCH")?.headers["content-length"]),
      });
    }
    // No rewrite or copy of the bytes: the same single metadata request for both sizes.
    expect(after[0]?.requests).toEqual(["PATCH"]);
    expect(after[1]?.requests).toEqual(after[0]?.requests);
    expect(after[0]?.patchBytes).toBeLessThan(1024);
    expect(after[1]?.patchBytes).toBe(after[0]?.patchBytes);
  });

  it("deletes the new generation and rejects when the patch fails", async () => {
    const key = "final/patch-fails.bin";
    server.injectFault({ method: "PATCH", status: 503, times: Infinity });
    await expectStorageError(
      adapter.write(key, patternBody(600 * KiB).stream, { finalMetadata: () => final }),
      "Unavailable",
    );
    server.clearFaults();
    const [removal, ...more] = deletes();
    expect(more).toEqual([]);
    expect(removal?.url).toMatch(/[?&]ifGenerationMatch=\d+/);
    expect(server.objects()).not.toContain(`${BUCKET}/${key}`);
    expect(server.openSessions()).toEqual([]);
  });

  it("deletes the new generation when finalMetadata throws after a resumable upload", async () => {
    const key = "final/refused.bin";
    await expectStorageError(
      adapter.write(key, patternBody(600 * KiB).stream, {
        finalMetadata: () => {
          throw new Error("no checksum");
        },
      }),
      "InvalidArgument",
    );
    expect(patches()).toEqual([]);
    expect(deletes()).toHaveLength(1);
    expect(server.objects()).not.toContain(`${BUCKET}/${key}`);
  });
});
