/**
 * Timeouts and graceful shutdown, on the local-folder backend, each with its own gateway
 * process configured with short timeouts.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { Agent, request, type IncomingMessage } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { fsBackend } from "./backends/fs.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { openUpload, postForm, type Answer, type OpenUpload } from "./support/http.ts";
import { closing, partHead, type Part } from "./support/multipart.ts";

const BOUNDARY = "----mediagate-lifecycle";
const FIELDS = { op: "upload", auth: TOKEN, uid: "1", mid: "2", source: "message" };
const uploadFields: Part[] = Object.entries(FIELDS).map(([name, value]) => ({ name, value }));
const fieldBytes = Buffer.concat(
  Object.entries(FIELDS).map(([name, value]) =>
    Buffer.concat([partHead(BOUNDARY, { name, value }), Buffer.from(`${value}\r\n`)]),
  ),
);
const filePart: Part = {
  name: "file",
  filename: "slow.bin",
  type: "application/octet-stream",
  body: "",
};

/** An upload with its fields sent and its file part open. */
function openSlowUpload(url: string, agent: Agent | false = false): OpenUpload {
  const upload = openUpload(url, BOUNDARY, agent);
  upload.req.write(fieldBytes);
  upload.req.write(partHead(BOUNDARY, filePart));
  return upload;
}

const finish = (upload: OpenUpload) =>
  upload.req.end(Buffer.concat([Buffer.from("\r\n"), closing(BOUNDARY)]));

const refusesConnections = (url: string) =>
  new Promise<boolean>((resolve) => {
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });

let session: BackendSession | undefined;

/** Larger than every buffer between a paused client and the gateway. */
const LARGER_THAN_BUFFERS = 16 * 1024 * 1024;

/** Stores a file of LARGER_THAN_BUFFERS random bytes; resolves with its download URL. */
async function storeLargerThanBuffers(running: BackendSession): Promise<string> {
  const stored = await postForm(`${running.gateway.url}/upload`, [
    ...uploadFields,
    {
      name: "file",
      filename: "big.bin",
      type: "application/octet-stream",
      body: randomBytes(LARGER_THAN_BUFFERS),
    },
  ]);
  expect(stored.status, stored.text).toBe(200);
  return running.local((stored.json as { url: string }).url);
}
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

describe("timeouts", () => {
  it("lets a slow but progressing upload run far past the idle timeout", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ IDLE_TIMEOUT: "1s" });
    const upload = openSlowUpload(session.gateway.url);
    const started = Date.now();
    // A trickle: a chunk every 300 ms for about 3.6 s, three idle timeouts in total.
    for (let i = 0; i < 12; i++) {
      upload.req.write(randomBytes(1000));
      await delay(300);
    }
    finish(upload);
    expect(await upload.answer).toMatchObject({ status: 200 });
    expect(Date.now() - started).toBeGreaterThan(3000);
  });

  it("closes a stalled upload after the idle timeout and leaves nothing", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ IDLE_TIMEOUT: "1s" });
    const before = await session.inventory();
    const upload = openSlowUpload(session.gateway.url);
    upload.req.write(randomBytes(50_000));
    const started = Date.now();
    expect(await upload.answer).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(10_000);
    await session.expectUntouched(before);
  });

  it("closes a download whose client stops reading after the idle timeout", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ IDLE_TIMEOUT: "1s" });
    const url = await storeLargerThanBuffers(session);
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      request(url, { agent: false }, resolve).on("error", reject).end(),
    );
    expect(res.statusCode).toBe(200);
    res.pause();
    const started = Date.now();
    // The gateway hangs up on the client that stopped reading (the paused client sees that
    // only once it reads on).
    await expect
      .poll(() => session?.gateway.logs().map((l) => l.msg), { timeout: 10_000 })
      .toContain("closing an idle connection");
    expect(Date.now() - started).toBeLessThan(10_000);
    let received = 0;
    res.on("data", (chunk: Buffer) => (received += chunk.length));
    await new Promise((resolve) => res.once("close", resolve).resume());
    expect(res.complete).toBe(false);
    expect(received).toBeLessThan(LARGER_THAN_BUFFERS);
  });

  it("answers a client that never finishes its headers with 408", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ HEADERS_TIMEOUT: "1s", IDLE_TIMEOUT: "30s" });
    const { port } = new URL(session.gateway.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"),
      );
      let text = "";
      socket.on("data", (d) => (text += d.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
  });
});

/** SIGTERM, and wait until the gateway refuses new connections. */
async function terminate(running: BackendSession): Promise<void> {
  running.gateway.signal("SIGTERM");
  await expect.poll(() => refusesConnections(running.gateway.url), { timeout: 10_000 }).toBe(true);
}

/**
 * Half an upload, then SIGTERM; once the gateway refuses new connections, the rest of it.
 * Resolves with the upload's answer.
 */
async function uploadAcrossSigterm(running: BackendSession, agent: Agent | false = false) {
  const upload = openSlowUpload(running.gateway.url, agent);
  upload.req.write(randomBytes(100_000));
  await expect.poll(async () => (await running.inventory()).leftovers.length).toBeGreaterThan(0);
  await terminate(running);
  upload.req.write(randomBytes(100_000));
  finish(upload);
  return upload.answer;
}

describe("graceful shutdown", () => {
  it("stops accepting connections but lets an in-flight upload finish", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ SHUTDOWN_TIMEOUT: "20s" });
    const answer = await uploadAcrossSigterm(session);
    expect(answer).toMatchObject({ status: 200 });
    const url = JSON.parse((answer as Answer).text).url as string;
    expect((await session.inventory()).objects).toContain(session.keyOf(url));
    expect(await session.gateway.exited).toEqual({ code: 0, signal: null });
  });

  it("closes a kept-alive connection after its in-flight upload, so the process exits at once", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ SHUTDOWN_TIMEOUT: "20s" });
    const agent = new Agent({ keepAlive: true });
    try {
      const answer = await uploadAcrossSigterm(session, agent);
      const answeredAt = Date.now();
      expect(answer).toMatchObject({ status: 200, headers: { connection: "close" } });
      expect(await session.gateway.exited).toEqual({ code: 0, signal: null });
      // The server's keep-alive timeout is 5 s: waiting it out would take at least that.
      expect(Date.now() - answeredAt).toBeLessThan(2000);
    } finally {
      agent.destroy();
    }
  });

  it("hangs up after a download whose headers went out before SIGTERM, so the process exits at once", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ SHUTDOWN_TIMEOUT: "20s" });
    // The download cannot finish before the client reads on.
    const url = await storeLargerThanBuffers(session);
    const agent = new Agent({ keepAlive: true });
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) =>
        request(url, { agent }, resolve).on("error", reject).end(),
      );
      res.pause();
      expect(res.headers.connection).toBe("keep-alive");
      await terminate(session);
      let received = 0;
      res.on("data", (chunk: Buffer) => (received += chunk.length));
      await new Promise((resolve) => res.once("end", resolve).resume());
      const readAt = Date.now();
      expect(received).toBe(LARGER_THAN_BUFFERS);
      expect(await session.gateway.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - readAt).toBeLessThan(2000);
    } finally {
      agent.destroy();
    }
  });

  it("exits on SIGTERM when its log output has gone (a closed pipe)", async () => {
    session = new BackendSession(fsBackend);
    await session.start();
    session.gateway.closeOutput();
    session.gateway.signal("SIGTERM");
    // Bounds the wait so a hang reads as one (pino's exit flush once retried a closed pipe
    // forever).
    const outcome = await Promise.race([
      session.gateway.exited,
      delay(15_000).then(() => "still running 15 s after SIGTERM"),
    ]);
    expect(outcome).toEqual({ code: 0, signal: null });
  });

  it("aborts what is still running at the deadline, leaving nothing, and exits", async () => {
    session = new BackendSession(fsBackend);
    await session.start({ SHUTDOWN_TIMEOUT: "1s" });
    const before = await session.inventory();
    const upload = openSlowUpload(session.gateway.url);
    upload.req.write(randomBytes(100_000));
    await expect
      .poll(async () => (await session?.inventory())?.leftovers.length)
      .toBeGreaterThan(0);
    session.gateway.signal("SIGTERM");
    expect(await session.gateway.exited).toEqual({ code: 0, signal: null });
    expect(await upload.answer).toBeInstanceOf(Error);
    expect(await session.inventory()).toEqual({ objects: before.objects, leftovers: [] });
    expect(session.gateway.logs().map((l) => l.msg)).toContain(
      "shutdown deadline passed: aborting in-flight requests",
    );
  });
});
