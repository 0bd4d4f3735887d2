/**
 * An upload's one log line: pino-http's completion line names the stored object, and says
 * so honestly when the client left before its answer (the route then removes the object).
 * A bare node:http server with the gateway's request logger, so the client can leave at a
 * moment of the test's choosing.
 */
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, httpLogger, noteUpload } from "../src/http/logging.ts";
import { logLines } from "./support/log-lines.ts";

const upload = { key: "2026/12/01/" + "a".repeat(40), size: 3, sha256: "0".repeat(64) } as const;

async function serve(answer: boolean) {
  const { sink, lines } = logLines();
  const log = httpLogger(createLogger("info", sink));
  let markStored = () => {};
  const stored = new Promise<void>((resolve) => (markStored = resolve));
  const server = createServer((req, res) => {
    log(req, res);
    noteUpload(res, { ...upload, via: "storage" });
    markStored();
    if (answer) res.end('{"result":true}');
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, lines, stored };
}

describe("an upload's log line", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it("names the stored object once the answer is sent", async () => {
    const running = await serve(true);
    server = running.server;
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: "abc" });
    expect(await res.text()).toBe('{"result":true}');
    await expect.poll(() => running.lines.length).toBe(1);
    expect(running.lines[0]).toMatchObject({
      msg: "upload stored",
      upload: { ...upload, via: "storage" },
      res: { statusCode: 200 },
    });
  });

  it("says the object was removed when the client left before its answer", async () => {
    const running = await serve(false);
    server = running.server;
    const { port } = server.address() as AddressInfo;
    const client = request({ port, host: "127.0.0.1", path: "/upload", method: "POST" });
    client.on("error", () => {});
    client.end("abc");
    await running.stored;
    client.destroy();
    await expect.poll(() => running.lines.length).toBe(1);
    expect(running.lines[0]).toMatchObject({
      msg: "upload removed: the client left before the answer",
      upload: { ...upload, via: "storage" },
    });
  });

  it("is the plain completion line for every other request", async () => {
    const { sink, lines } = logLines();
    const log = httpLogger(createLogger("info", sink));
    server = createServer((req, res) => {
      log(req, res);
      res.end("ok");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatchObject({ msg: "request completed" });
    expect(lines[0]).not.toHaveProperty("upload");
  });
});
