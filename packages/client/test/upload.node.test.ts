/**
 * upload() in Node against a real gateway process, with a real HTTP proxy in front where a
 * test needs answers the gateway would give only under load (503, 429 with Retry-After).
 */
import { startHttpFaultProxy, type HttpFaultProxy } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upload, UploadError, type RetryInfo, type UploadProgress } from "../src/index.ts";
import { keyOf, randomBytes, startStack, TOKEN, type Stack } from "./support/stack.ts";

const FAST_RETRY = { baseDelayMs: 20, maxDelayMs: 100 };
const unavailable = {
  status: 503,
  body: { result: false, error: { code: "STORAGE_UNAVAILABLE", message: "try later" } },
};

describe("upload() in Node", () => {
  let stack: Stack;
  let proxy: HttpFaultProxy;
  let viaProxy: string;

  beforeAll(async () => {
    stack = await startStack();
    proxy = await startHttpFaultProxy({ target: stack.gateway.url });
    viaProxy = `${proxy.url}/upload`;
  });
  afterAll(async () => {
    await proxy?.stop();
    await stack?.stop();
  });

  /** What the proxy saw from the requests made during `run`. */
  async function seen(run: () => Promise<unknown>) {
    const before = proxy.requests.length;
    let value: unknown;
    let error: unknown;
    try {
      value = await run();
    } catch (err) {
      error = err;
    }
    return { value, error, requests: proxy.requests.slice(before) };
  }

  it("uploads a file with mesibo's fields and resolves with a URL serving the same bytes", async () => {
    const bytes = randomBytes(300_000);
    const { url } = await upload(new Blob([bytes]), {
      url: stack.uploadUrl,
      token: TOKEN,
      uid: 42,
      mid: 123456789n,
      source: 1,
      fileName: "holiday.bin",
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\//);
    const download = await fetch(url);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
    const info = await stack.storage.stat(keyOf(url));
    expect(info.metadata).toMatchObject({ uid: "42", mid: "123456789", source: "1" });
  });

  it("reports progress rising within the attempt and ending at the body's total", async () => {
    const size = 8 * 1024 * 1024;
    const events: UploadProgress[] = [];
    await upload(new Blob([randomBytes(size)]), {
      url: stack.uploadUrl,
      token: TOKEN,
      uid: 42,
      source: 0,
      onProgress: (progress) => events.push(progress),
    });
    expect(events.length).toBeGreaterThan(10);
    const last = events.at(-1);
    expect(last?.loaded).toBe(last?.total);
    // The body is the file plus the form around it.
    expect(last?.total).toBeGreaterThan(size);
    expect(last?.total).toBeLessThan(size + 2048);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]?.loaded).toBeGreaterThan(events[i - 1]?.loaded ?? Infinity);
      expect(events[i]).toMatchObject({ total: last?.total, attempt: 1 });
    }
  });

  it("rejects a refused token at once with the gateway's code, without retrying", async () => {
    const retries: RetryInfo[] = [];
    let tokens = 0;
    const { error, requests } = await seen(() =>
      upload(new Blob(["x"]), {
        url: viaProxy,
        getToken: () => `wrong-${++tokens}`,
        uid: 42,
        source: 0,
        retry: FAST_RETRY,
        onRetry: (info) => retries.push(info),
      }),
    );
    expect(error).toBeInstanceOf(UploadError);
    expect(error).toMatchObject({
      code: "UNAUTHORIZED",
      status: 401,
      retryable: false,
      attempt: 1,
    });
    expect(requests).toHaveLength(1);
    expect(tokens).toBe(1);
    expect(retries).toEqual([]);
  });

  it("does not retry other 4xx refusals either", async () => {
    const { error, requests } = await seen(() =>
      upload(new Blob(["x"]), { url: viaProxy, token: TOKEN, uid: "not-a-uid", retry: FAST_RETRY }),
    );
    expect(error).toMatchObject({ code: "INVALID_UID", status: 400, retryable: false });
    expect(requests).toHaveLength(1);
  });

  it("retries a 503 and asks getToken for a fresh token before every attempt", async () => {
    proxy.answerNext(2, unavailable);
    const asked: number[] = [];
    const retries: RetryInfo[] = [];
    const bytes = randomBytes(50_000);
    const { value, requests } = await seen(() =>
      upload(new Blob([bytes]), {
        url: viaProxy,
        // Only the third token is good: the success proves each attempt sent its own.
        getToken: ({ attempt }) => (
          asked.push(attempt),
          attempt === 3 ? TOKEN : `expired-${attempt}`
        ),
        uid: 42,
        source: 0,
        retry: FAST_RETRY,
        onRetry: (info) => retries.push(info),
      }),
    );
    expect(value).toEqual({ url: expect.stringMatching(/\/files\//) });
    expect(asked).toEqual([1, 2, 3]);
    expect(requests.map((r) => [r.answeredBy, r.status])).toEqual([
      ["proxy", 503],
      ["proxy", 503],
      ["target", 200],
    ]);
    expect(retries.map((r) => [r.attempt, r.error.code, r.error.status])).toEqual([
      [2, "STORAGE_UNAVAILABLE", 503],
      [3, "STORAGE_UNAVAILABLE", 503],
    ]);
    const url = (value as { url: string }).url;
    expect(new Uint8Array(await (await fetch(url)).arrayBuffer())).toEqual(bytes);
  });

  it("waits out a 429's Retry-After in seconds before trying again", async () => {
    proxy.answerNext(1, {
      status: 429,
      headers: { "Retry-After": "1" },
      body: { result: false, error: { code: "RATE_LIMITED", message: "slow down" } },
    });
    const retries: RetryInfo[] = [];
    const { value, requests } = await seen(() =>
      upload(new Blob(["y"]), {
        url: viaProxy,
        token: TOKEN,
        uid: 42,
        source: 0,
        retry: FAST_RETRY,
        onRetry: (info) => retries.push(info),
      }),
    );
    expect(value).toHaveProperty("url");
    expect(retries).toHaveLength(1);
    expect(retries[0]?.error).toMatchObject({ code: "RATE_LIMITED", retryAfterMs: 1000 });
    expect(retries[0]?.delayMs).toBeGreaterThanOrEqual(1000);
    const [refused, retried] = requests;
    // Not before the second was up (timers may round a millisecond or two).
    expect(retried?.receivedAt).toBeGreaterThanOrEqual(
      (refused?.answeredAt ?? Infinity) + 1000 - 5,
    );
  });

  it("waits until a Retry-After HTTP-date", async () => {
    let until = 0;
    proxy.answerNext(1, () => {
      const header = new Date(Date.now() + 2000).toUTCString();
      until = Date.parse(header);
      return { ...unavailable, headers: { "Retry-After": header } };
    });
    const { value, requests } = await seen(() =>
      upload(new Blob(["z"]), {
        url: viaProxy,
        token: TOKEN,
        uid: 42,
        source: 0,
        retry: FAST_RETRY,
      }),
    );
    expect(value).toHaveProperty("url");
    expect(requests).toHaveLength(2);
    expect(requests[1]?.receivedAt).toBeGreaterThanOrEqual(until - 5);
  });

  it("stops retrying when the attempts run out, with the last answer's error", async () => {
    proxy.answerNext(3, { status: 502, body: "<html>bad gateway</html>" });
    const { error, requests } = await seen(() =>
      upload(new Blob(["x"]), {
        url: viaProxy,
        token: TOKEN,
        uid: 42,
        source: 0,
        retry: { ...FAST_RETRY, attempts: 3 },
      }),
    );
    expect(error).toMatchObject({ code: "HTTP_ERROR", status: 502, retryable: true, attempt: 3 });
    expect(requests).toHaveLength(3);
  });

  it("calls a 2xx without a download URL a bad response, and does not retry it", async () => {
    proxy.answerNext(1, { status: 200, body: { result: true } });
    const { error, requests } = await seen(() =>
      upload(new Blob(["x"]), { url: viaProxy, token: TOKEN, retry: FAST_RETRY }),
    );
    expect(error).toMatchObject({ code: "BAD_RESPONSE", status: 200, retryable: false });
    expect(requests).toHaveLength(1);
  });

  it("aborts during a back-off wait", async () => {
    proxy.answerNext(1, { ...unavailable, headers: { "Retry-After": "30" } });
    const controller = new AbortController();
    const { error, requests } = await seen(() =>
      upload(new Blob(["x"]), {
        url: viaProxy,
        token: TOKEN,
        signal: controller.signal,
        onRetry: () => controller.abort(new Error("user left")),
      }),
    );
    expect(error).toMatchObject({ code: "ABORTED", attempt: 1, retryable: false });
    expect((error as UploadError).cause).toEqual(new Error("user left"));
    expect(requests).toHaveLength(1);
  });

  it("makes no request at all with a signal already aborted", async () => {
    const { error, requests } = await seen(() =>
      upload(new Blob(["x"]), { url: viaProxy, token: TOKEN, signal: AbortSignal.abort() }),
    );
    expect(error).toMatchObject({ code: "ABORTED" });
    expect(requests).toHaveLength(0);
  });

  it("refuses unusable calls before sending anything", async () => {
    await expect(
      upload("text" as unknown as Blob, { url: viaProxy, token: TOKEN }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(upload(new Blob(["x"]), { url: viaProxy })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(upload(new Blob(["x"]), { url: "/upload", token: TOKEN })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(
      upload(new Blob(["x"]), { url: "ftp://127.0.0.1/upload", token: TOKEN }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(
      upload(new Blob(["x"]), { url: viaProxy, getToken: async () => "" }),
    ).rejects.toMatchObject({ code: "TOKEN_UNAVAILABLE" });
  });
});
