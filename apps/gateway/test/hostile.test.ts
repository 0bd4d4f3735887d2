/**
 * What a battery of hostile clients and unlucky operators found, each as a test against a
 * real gateway process on the local folder: descriptor exhaustion by slow connections,
 * answers Node's HTTP server would write in its own (non-JSON) words, logs that cried wolf or
 * lied, and a full disk misreported on the file-first path.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN } from "./support/backend-session.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { postForm, readAnswer, send, type Answer } from "./support/http.ts";
import { multipart, partHead, type Part } from "./support/multipart.ts";

const form = (body: Buffer | string, fileFirst = false): Part[] => {
  const fields: Part[] = [
    { name: "op", value: "upload" },
    { name: "auth", value: TOKEN },
    { name: "uid", value: "1" },
    { name: "mid", value: "1" },
  ];
  const file: Part = { name: "file", filename: "a.bin", type: "application/octet-stream", body };
  return fileFirst ? [file, ...fields] : [...fields, file];
};

/** An answer to `path` from a connection made from `from` (any 127.x address is loopback). */
function from(address: string, url: string, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, localAddress: address, agent: false }, (res) =>
      readAnswer(res).then(resolve, reject),
    );
    req.on("error", reject);
    req.end();
  });
}

/** A file-first upload that sends its headers and the start of its file, then nothing. */
function trickle(url: string, address: string): Promise<Socket> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ port: Number(port), host: hostname, localAddress: address }, () => {
      const boundary = "trickle";
      socket.write(
        `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
          "Content-Length: 10000000\r\n\r\n",
      );
      socket.write(partHead(boundary, { name: "file", filename: "a", body: "" }));
      resolve(socket);
    });
    socket.on("error", () => undefined);
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-hostile-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("descriptor exhaustion by slow connections", () => {
  let gateway: GatewayProcess;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // 256 descriptors: room for (256 - 64) / 3 = 64 connections in all.
    gateway = await startGatewayProcess(
      {
        FS_ROOT: join(dir, "fd-store"),
        SPOOL_DIR: join(dir, "fd-spool"),
        AUTH_TOKENS: TOKEN,
        MAX_CONNECTIONS_PER_IP: "20",
      },
      { fileLimit: 256 },
    );
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await gateway?.stop();
  });

  it("caps one address at MAX_CONNECTIONS_PER_IP, so everyone else is served", async () => {
    for (let i = 0; i < 80; i++) sockets.push(await trickle(gateway.url, "127.0.0.2"));
    // The 21st and later are answered 429 JSON and closed.
    const refused = await from("127.0.0.2", gateway.url, "/healthz");
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ result: false, error: { code: "TOO_MANY_CONNECTIONS" } });
    const upload = await postForm(`${gateway.url}/upload`, form("from a real user"));
    expect(upload.status).toBe(200);
    expect((await from("127.0.0.3", gateway.url, "/healthz")).status).toBe(200);
  });

  it("at the descriptor limit, sheds new connections but answers probes and serves the rest", async () => {
    for (const address of ["127.0.0.5", "127.0.0.6", "127.0.0.7"]) {
      for (let i = 0; i < 20; i++) sockets.push(await trickle(gateway.url, address));
    }
    const health = await from("127.0.0.9", gateway.url, "/healthz");
    expect(health.status).toBe(200);
    const shed = await from("127.0.0.9", gateway.url, "/files/00/2026/01/01/" + "0".repeat(40));
    expect(shed.status).toBe(503);
    expect(shed.json).toMatchObject({ error: { code: "TOO_MANY_CONNECTIONS" } });
    for (const socket of sockets.splice(0)) socket.destroy();
    await expect
      .poll(async () => (await postForm(`${gateway.url}/upload`, form("after the storm"))).status)
      .toBe(200);
    expect(gateway.stderr()).not.toMatch(/EMFILE/);
  });
});

describe("a body that trickles", () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await startGatewayProcess({
      FS_ROOT: join(dir, "rate-store"),
      AUTH_TOKENS: TOKEN,
      MIN_UPLOAD_RATE: "2000",
      MIN_UPLOAD_RATE_WINDOW: "2s",
    });
  });
  afterAll(() => gateway?.stop());

  /** Sends `total` bytes of file at `perTick` bytes every 100 ms; resolves with the answer. */
  function paced(total: number, perTick: number): Promise<Answer | Error> {
    const parts = form("");
    const boundary = "pacedboundary";
    const head = Buffer.concat(
      parts
        .slice(0, 4)
        .map((p) =>
          Buffer.concat([
            partHead(boundary, p),
            Buffer.from(`${(p as { value: string }).value}\r\n`),
          ]),
        ),
    );
    return new Promise((resolve) => {
      const req = request(`${gateway.url}/upload`, {
        method: "POST",
        headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      });
      req.on("response", (res) => readAnswer(res).then(resolve, resolve));
      req.on("error", resolve);
      req.write(head);
      req.write(partHead(boundary, parts[4] as Part));
      let sent = 0;
      const timer = setInterval(() => {
        if (req.destroyed) return clearInterval(timer);
        const n = Math.min(perTick, total - sent);
        req.write(Buffer.alloc(n, 1));
        sent += n;
        if (sent >= total) {
          clearInterval(timer);
          req.end(`\r\n--${boundary}--\r\n`);
        }
      }, 100);
    });
  }

  it("cuts an upload slower than MIN_UPLOAD_RATE with 408, and lets a slow but real one pass", async () => {
    const [slow, fine] = await Promise.all([paced(100_000, 10), paced(20_000, 500)]);
    expect(slow).not.toBeInstanceOf(Error);
    expect(slow).toMatchObject({ status: 408, json: { error: { code: "UPLOAD_TOO_SLOW" } } });
    expect(fine).toMatchObject({ status: 200 });
  });
});

describe("answers Node would write itself", () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await startGatewayProcess({ FS_ROOT: join(dir, "json-store"), AUTH_TOKENS: TOKEN });
  });
  afterAll(() => gateway?.stop());

  /** The raw answer to hand-written request bytes. */
  function raw(text: string): Promise<{ status: number; type: string; body: string }> {
    const { port, hostname } = new URL(gateway.url);
    return new Promise((resolve, reject) => {
      const socket = connect({ port: Number(port), host: hostname }, () => socket.end(text));
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", reject);
      socket.on("close", () => {
        const answer = Buffer.concat(chunks).toString();
        const [head = "", body = ""] = answer.split("\r\n\r\n");
        resolve({
          status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]),
          type: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? "",
          body,
        });
      });
    });
  }

  it.each([
    ["no Host header", "POST /upload HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400],
    [
      "an unknown Expect",
      "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 0\r\n\r\n",
      417,
    ],
    ["OPTIONS without CORS configured", "OPTIONS /upload HTTP/1.1\r\nHost: x\r\n\r\n", 200],
  ])("%s: JSON", async (_name, text, status) => {
    const answer = await raw(text);
    expect(answer.status).toBe(status);
    expect(answer.type).toMatch(/^application\/json/);
    expect(() => JSON.parse(answer.body)).not.toThrow();
  });
});

describe("logs", () => {
  let gateway: GatewayProcess;
  const root = () => join(dir, "log-store");
  beforeAll(async () => {
    gateway = await startGatewayProcess({ FS_ROOT: root(), AUTH_TOKENS: TOKEN });
  });
  afterAll(() => gateway?.stop());

  it("print no warning per download", async () => {
    const answer = await postForm(`${gateway.url}/upload`, form(randomBytes(300_000)));
    const url = (answer.json as { url: string }).url.replace(/^https?:\/\/[^/]+/, gateway.url);
    for (let i = 0; i < 15; i++) expect((await send(url)).status).toBe(200);
    expect(gateway.stderr()).not.toMatch(/MaxListenersExceededWarning/);
  });

  it("log a client that left before its answer at info, as 499, with where it was", async () => {
    const parts = multipart(form(randomBytes(30_000_000)));
    const id = "left-early-request";
    await new Promise<void>((resolve) => {
      const req = request(`${gateway.url}/upload`, {
        method: "POST",
        headers: { "content-type": parts.contentType, "x-request-id": id },
      });
      req.on("error", () => resolve());
      parts.stream.on("end", () => setImmediate(() => req.destroy()));
      parts.stream.pipe(req, { end: false });
      req.on("close", () => resolve());
    });
    await expect
      .poll(() => gateway.logs().find((l) => (l.req as { id?: string })?.id === id))
      .toBeDefined();
    const line = gateway.logs().find((l) => (l.req as { id?: string })?.id === id) ?? {};
    expect(line).toMatchObject({ level: 30, res: { statusCode: 499 } });
    expect(String(line.abortedWhile)).toMatch(/sending the body|waiting for the answer/);
  });

  it("log each failure once", async () => {
    await rm(root(), { recursive: true, force: true });
    const id = "failed-once-request";
    const answer = await postForm(`${gateway.url}/upload`, form("x"), { "x-request-id": id });
    expect(answer.status).toBe(503);
    await mkdir(root(), { recursive: true });
    // Lines are written in order: once a later request's line is out, this one's all are.
    await send(`${gateway.url}/healthz`, { headers: { "x-request-id": "after-it" } });
    await expect.poll(() => gateway.stdout().includes("after-it")).toBe(true);
    const lines = gateway.logs().filter((l) => JSON.stringify(l).includes(id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, refusal: { code: "STORAGE_UNAVAILABLE" } });
  });
});

describe("a full disk", () => {
  let gateway: GatewayProcess;
  let mount: string;
  beforeAll(async () => {
    mount = join(dir, "tiny");
    await mkdir(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount]);
    gateway = await startGatewayProcess({
      FS_ROOT: join(mount, "store"),
      SPOOL_DIR: join(mount, "spool"),
      AUTH_TOKENS: TOKEN,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    if (mount) execFileSync("umount", [mount]);
  });

  it.each([
    ["fields first", false],
    ["file first (spooled)", true],
  ])("answers 507 STORAGE_FULL %s, keeping nothing", async (_name, fileFirst) => {
    const answer = await postForm(
      `${gateway.url}/upload`,
      form(randomBytes(1024 * 1024), fileFirst),
    );
    expect(answer.status).toBe(507);
    expect(answer.json).toMatchObject({ result: false, error: { code: "STORAGE_FULL" } });
    const left = await readdir(mount, { recursive: true, withFileTypes: true });
    expect(left.filter((e) => e.isFile() && !e.parentPath.includes(".mediagate"))).toEqual([]);
  });
});
