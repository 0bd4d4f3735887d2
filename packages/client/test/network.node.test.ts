/**
 * upload() in Node when the connection itself misbehaves (a TCP proxy refuses or holds it),
 * and against a real gateway's own rate limit.
 */
import { startFaultProxy, type FaultProxy } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upload, type RetryInfo, type UploadError } from "../src/index.ts";
import { startStack, storedKeys, tempFiles, TOKEN, type Stack } from "./support/stack.ts";

/** How long to wait for something another process does (a shared CI machine can be slow). */
const WAIT = { timeout: 15_000, interval: 50 };

describe("upload() in Node over a faulty connection", () => {
  let stack: Stack;
  let tcp: FaultProxy;

  beforeAll(async () => {
    stack = await startStack();
    tcp = await startFaultProxy({ targetPort: stack.gateway.port });
  });
  afterAll(async () => {
    await tcp?.stop();
    await stack?.stop();
  });

  it("retries when nothing answers, and succeeds once the gateway is reachable", async () => {
    const down = await startFaultProxy({ targetPort: stack.gateway.port, startDown: true });
    try {
      const retries: RetryInfo[] = [];
      const { url } = await upload(new Blob(["after the outage"]), {
        url: `${down.url}/upload`,
        token: TOKEN,
        uid: 42,
        source: 0,
        retry: { baseDelayMs: 20 },
        onRetry: (info) => {
          retries.push(info);
          void down.up();
        },
      });
      expect(retries.map((r) => [r.attempt, r.error.code, r.error.status])).toEqual([
        [2, "NETWORK_ERROR", undefined],
      ]);
      expect(await (await fetch(url)).text()).toBe("after the outage");
    } finally {
      await down.stop();
    }
  });

  it("aborts mid-upload: ABORTED, and the gateway keeps nothing, not even a partial file", async () => {
    const keysBefore = await storedKeys(stack.storage);
    const controller = new AbortController();
    const upBefore = tcp.bytesUp;
    let held: Promise<void> | undefined;
    const uploading = upload(new Blob([new Uint8Array(32 * 1024 * 1024)]), {
      url: `${tcp.url}/upload`,
      token: TOKEN,
      uid: 42,
      source: 0,
      signal: controller.signal,
      onProgress: ({ loaded }) => {
        // Hold the bytes once some are through, so the abort lands midway, not after the end.
        // "Through" counts what the proxy forwarded: on a busy machine the first megabytes the
        // client hands over can all still sit in socket buffers, and the gateway has nothing.
        if (held || loaded < 4 * 1024 * 1024 || tcp.bytesUp - upBefore < 2 * 1024 * 1024) return;
        tcp.pause();
        const writing = expect
          .poll(async () => (await tempFiles(stack.root)).some((file) => file.size > 0), WAIT)
          .toBe(true);
        // Aborted either way, so a failed wait cannot leave the upload hanging.
        held = writing.finally(() => controller.abort(new Error("the user cancelled")));
      },
    });
    await expect(uploading).rejects.toMatchObject({ code: "ABORTED", retryable: false });
    // The gateway had begun writing the file when the abort came (or this rethrows why not).
    expect(held).toBeDefined();
    await held;
    tcp.resume();
    await expect.poll(() => tempFiles(stack.root), WAIT).toEqual([]);
    expect(await storedKeys(stack.storage)).toEqual(keysBefore);
  });
});

describe("upload() in Node against a gateway's own rate limit", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ RATE_LIMIT_UPLOADS_PER_MINUTE: "1" });
  });
  afterAll(() => stack?.stop());

  it("gives up at once when Retry-After is beyond its time budget, rather than hammering", async () => {
    const options = { url: stack.uploadUrl, token: TOKEN, uid: 77, source: 0 };
    await upload(new Blob(["first"]), options);
    const retries: RetryInfo[] = [];
    const refused = upload(new Blob(["second"]), {
      ...options,
      retry: { maxElapsedMs: 5000 },
      onRetry: (info) => retries.push(info),
    });
    await expect(refused).rejects.toMatchObject({
      code: "RATE_LIMITED",
      status: 429,
      retryable: true,
      attempt: 1,
    });
    const error = await refused.catch((err: unknown) => err as UploadError);
    expect((error as UploadError).retryAfterMs).toBeGreaterThan(5000);
    expect(retries).toEqual([]);
  });
});
