import { once } from "node:events";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpFaultProxy, type HttpFaultProxy } from "../../src/http-fault-proxy.ts";

/** How long to wait for something another process does (a shared CI machine can be slow). */
const WAIT = { timeout: 15_000, interval: 50 };

/** A target that answers with what it received, and remembers requests that were cut off. */
async function startEchoTarget() {
  const cutOff: string[] = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.once("end", () => {
      res.setHeader("X-Echo-Path", req.url ?? "");
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.end(JSON.stringify({ method: req.method, bytes, host: req.headers.host }));
    });
    req.once("aborted", () => cutOff.push(req.url ?? ""));
    req.once("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port, cutOff };
}

describe("startHttpFaultProxy (test infrastructure)", () => {
  let target: Awaited<ReturnType<typeof startEchoTarget>>;
  let proxy: HttpFaultProxy;

  beforeAll(async () => {
    target = await startEchoTarget();
    proxy = await startHttpFaultProxy({ target: `http://127.0.0.1:${target.port}` });
  });
  afterAll(async () => {
    await proxy?.stop();
    target?.server.close();
  });

  it("passes requests through, bodies and repeated headers included", async () => {
    const body = new Uint8Array(3 * 1024 * 1024);
    const res = await fetch(`${proxy.url}/upload?x=1`, { method: "POST", body });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-echo-path")).toBe("/upload?x=1");
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await res.json()).toEqual({
      method: "POST",
      bytes: body.length,
      host: `127.0.0.1:${proxy.port}`,
    });
    expect(proxy.requests.at(-1)).toMatchObject({ answeredBy: "target", status: 200 });
  });

  it("answers the next N requests itself, after reading their bodies, then passes through", async () => {
    const before = proxy.requests.length;
    proxy.answerNext(2, () => ({
      status: 503,
      headers: { "Retry-After": "7" },
      body: { result: false, error: { code: "STORAGE_UNAVAILABLE", message: "down" } },
    }));
    const body = new Uint8Array(5 * 1024 * 1024);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${proxy.url}/upload`, { method: "POST", body });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(await res.json()).toMatchObject({ error: { code: "STORAGE_UNAVAILABLE" } });
    }
    const third = await fetch(`${proxy.url}/upload`, { method: "POST", body });
    expect(await third.json()).toMatchObject({ bytes: body.length });
    const seen = proxy.requests.slice(before);
    expect(seen.map((r) => [r.answeredBy, r.status])).toEqual([
      ["proxy", 503],
      ["proxy", 503],
      ["target", 200],
    ]);
    for (const r of seen) expect(r.answeredAt).toBeGreaterThanOrEqual(r.receivedAt);
  });

  it("cuts the request to the target when the client leaves mid-body", async () => {
    const client = request(`${proxy.url}/leaving`, { method: "POST" });
    client.on("error", () => {});
    client.write(Buffer.alloc(64 * 1024));
    await expect.poll(() => proxy.requests.some((r) => r.path === "/leaving"), WAIT).toBe(true);
    client.destroy();
    await expect.poll(() => target.cutOff, WAIT).toContain("/leaving");
  });

  it("answers 502 when the target is unreachable", async () => {
    const dead = createServer();
    dead.listen(0, "127.0.0.1");
    await once(dead, "listening");
    const port = (dead.address() as AddressInfo).port;
    dead.close();
    await once(dead, "close");
    const lonely = await startHttpFaultProxy({ target: `http://127.0.0.1:${port}` });
    try {
      const res = await fetch(lonely.url);
      expect(res.status).toBe(502);
    } finally {
      await lonely.stop();
    }
  });
});
