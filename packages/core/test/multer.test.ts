import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import express, { type NextFunction, type Request, type Response } from "express";
import multer from "multer";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  MemoryAdapter,
  StorageError,
  type NormalizedWriteOptions,
  type ObjectInfo,
  type WriteOptions,
} from "../src/index.ts";
import { adapterStorage, type StoredFileInfo } from "../src/multer/index.ts";

/** A real MemoryAdapter that also records what happened to each write and delete. */
class RecordingAdapter extends MemoryAdapter {
  events: string[] = [];
  /** When set, writes fail with this code after the body has produced some bytes. */
  failWith: StorageError["code"] | undefined;
  /** When set, writes take the whole body and then wait (for their signal) before finishing. */
  holdAfterBody = false;

  override async write(key: string, body: Readable, options?: WriteOptions): Promise<ObjectInfo> {
    this.events.push(`write ${key}`);
    try {
      const info = await super.write(key, body, options);
      this.events.push(`stored ${key}`);
      return info;
    } catch (err) {
      this.events.push(`failed ${key} ${(err as StorageError).code}`);
      throw err;
    }
  }

  override async delete(key: string): Promise<void> {
    this.events.push(`delete ${key}`);
    return super.delete(key);
  }

  protected override async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    if (this.holdAfterBody) {
      for await (const _chunk of body);
      this.events.push(`body done ${key}`);
      await new Promise((_resolve, reject) =>
        options.signal.addEventListener("abort", () => reject(options.signal.reason), {
          once: true,
        }),
      );
    }
    if (!this.failWith) return super.writeObject(key, body, options);
    for await (const _chunk of body) break;
    throw new StorageError(this.failWith, "the backend refused", { operation: "write", key });
  }

  async keys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const entry of this.list()) keys.push(entry.key);
    return keys;
  }
}

interface Outcome {
  error?: { code?: string; name?: string; message?: string };
  files?: (Express.Multer.File & Partial<StoredFileInfo>)[];
  body?: Record<string, unknown>;
}

const adapter = new RecordingAdapter();
const cancel = { controller: new AbortController() };
let server: Server;
let port: number;
let counter = 0;
/** Every request's outcome as the route (or the error handler) saw it, in arrival order. */
let outcomes: Promise<Outcome>[] = [];
let settleNext: ((outcome: Outcome) => void)[] = [];

/** The single stored file of a successful outcome. */
function onlyFile(outcome: Outcome): NonNullable<Outcome["files"]>[number] & StoredFileInfo {
  const file = outcome.files?.[0];
  if (outcome.files?.length !== 1 || !file?.key)
    throw new Error(`expected one stored file: ${JSON.stringify(outcome)}`);
  return file as NonNullable<Outcome["files"]>[number] & StoredFileInfo;
}

function expectOutcome(): Promise<Outcome> {
  const promise = new Promise<Outcome>((resolve) => settleNext.push(resolve));
  outcomes.push(promise);
  return promise;
}

beforeAll(async () => {
  const upload = multer({
    storage: adapterStorage<Request>({
      adapter,
      key: (req, file) => {
        if (file.originalname === "refuse.bin") throw new Error("refused by the key function");
        return `uploads/${++counter}-${req.get("x-test") ?? "t"}`;
      },
      writeOptions: (req, file) => ({
        contentType: file.mimetype,
        metadata: { field: file.fieldname, name: file.originalname },
      }),
      finalMetadata: (_req, file, content) => {
        if (file.originalname === "unmeasured.bin") throw new Error("no room for the checksum");
        return { size: String(content.size), sha256: content.sha256 };
      },
      signal: () => cancel.controller.signal,
    }),
    limits: { fileSize: 64 * 1024, files: 1, fieldSize: 100 },
  });
  const app = express();
  app.post("/upload", upload.any(), (req: Request, res: Response) => {
    settleNext.shift()?.({ files: req.files as Outcome["files"], body: { ...req.body } });
    res.json({ ok: true });
  });
  app.use((err: Error & { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    settleNext.shift()?.({ error: { code: err.code, name: err.name, message: err.message } });
    if (!res.headersSent && res.writable) res.status(400).json({ ok: false, code: err.code });
  });
  server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  adapter.events = [];
  adapter.failWith = undefined;
  adapter.holdAfterBody = false;
  adapter.clear();
  outcomes = [];
  settleNext = [];
  cancel.controller = new AbortController();
});

const BOUNDARY = "----mediagate-test-boundary";

function fieldPart(name: string, value: string): Buffer {
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
}

function fileHead(name: string, filename: string, type = "application/octet-stream"): Buffer {
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
      `Content-Type: ${type}\r\n\r\n`,
  );
}

const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);

interface Sent {
  req: ReturnType<typeof request>;
  response: Promise<{ status: number; body: string } | Error>;
}

/** Opens a multipart POST and returns it unfinished, so tests control every byte sent. */
function openUpload(): Sent {
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: "/upload",
    headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}`, "x-test": "t" },
  });
  const response = new Promise<{ status: number; body: string } | Error>((resolve) => {
    req.on("response", (res: IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", resolve);
    });
    req.on("error", resolve);
  });
  return { req, response };
}

async function send(...parts: Buffer[]) {
  const sent = openUpload();
  for (const part of parts) sent.req.write(part);
  sent.req.end();
  return sent.response;
}

/** Resolves once the server-side write for the current upload has started. */
async function writeStarted(): Promise<void> {
  await expect
    .poll(() => adapter.events.some((e) => e.startsWith("write ")), { interval: 5 })
    .toBe(true);
}

describe("adapterStorage (multer engine)", () => {
  it("streams a file part into the adapter with the key and options the caller computes", async () => {
    const bytes = randomBytes(40_000);
    const outcome = expectOutcome();
    const response = await send(
      fieldPart("before", "1"),
      fileHead("photo", "cat.jpg", "image/jpeg"),
      bytes,
      Buffer.from("\r\n"),
      fieldPart("after", "2"),
      CLOSE,
    );
    expect(response).toMatchObject({ status: 200 });
    const result = await outcome;
    expect(result.body).toEqual({ before: "1", after: "2" });
    const file = onlyFile(result);
    expect(file.key).toMatch(/^uploads\/\d+-t$/);
    expect(file.size).toBe(bytes.length);
    expect(file.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(file.object?.size).toBe(bytes.length);

    const stored = await adapter.read(file.key);
    const chunks: Buffer[] = [];
    for await (const chunk of stored.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    expect(stored.info.contentType).toBe("image/jpeg");
    // Size and checksum were only known once the part ended: stored all the same.
    expect(stored.info.metadata).toEqual({
      field: "photo",
      name: "cat.jpg",
      size: String(bytes.length),
      sha256: file.sha256,
    });
  });

  it("refuses a file whose finalMetadata throws, storing nothing", async () => {
    const outcome = expectOutcome();
    const response = await send(
      fileHead("f", "unmeasured.bin"),
      randomBytes(10_000),
      Buffer.from("\r\n"),
      CLOSE,
    );
    expect(response).toMatchObject({ status: 400 });
    expect((await outcome).error?.message).toMatch(/no room for the checksum/);
    expect(adapter.events).toEqual([
      expect.stringMatching(/^write /),
      expect.stringMatching(/^failed .* InvalidArgument$/),
    ]);
    expect(await adapter.keys()).toEqual([]);
    expect(adapter.inFlightWrites()).toEqual([]);
  });

  it("stores an empty file", async () => {
    const outcome = expectOutcome();
    await send(fileHead("f", "empty.txt", "text/plain"), Buffer.from("\r\n"), CLOSE);
    const file = onlyFile(await outcome);
    expect(file.size).toBe(0);
    expect((await adapter.stat(file.key)).size).toBe(0);
  });

  it("aborts the backend write when the file passes limits.fileSize, storing nothing", async () => {
    const outcome = expectOutcome();
    const response = await send(
      fileHead("f", "big.bin"),
      randomBytes(100_000),
      Buffer.from("\r\n"),
      CLOSE,
    );
    expect((await outcome).error?.code).toBe("LIMIT_FILE_SIZE");
    expect(response).toMatchObject({ status: 400 });
    // Aborted while streaming: the object never existed, not stored-then-removed.
    expect(adapter.events).toEqual([
      expect.stringMatching(/^write /),
      expect.stringMatching(/^failed .* Aborted$/),
    ]);
    expect(await adapter.keys()).toEqual([]);
    expect(adapter.inFlightWrites()).toEqual([]);
  });

  it("aborts the backend write when the client disconnects mid-file", async () => {
    const outcome = expectOutcome();
    const sent = openUpload();
    sent.req.write(fileHead("f", "half.bin"));
    sent.req.write(randomBytes(20_000));
    await writeStarted();
    sent.req.destroy();
    await outcome;
    await expect.poll(() => adapter.events.at(-1), { interval: 5 }).toMatch(/^failed .* Aborted$/);
    expect(await adapter.keys()).toEqual([]);
    expect(adapter.inFlightWrites()).toEqual([]);
  });

  it("aborts the backend write when the client disconnects after sending everything", async () => {
    // Nobody is left to receive the object's URL, so finishing the write would orphan it.
    adapter.holdAfterBody = true;
    const outcome = expectOutcome();
    const sent = openUpload();
    sent.req.end(
      Buffer.concat([fileHead("f", "all.bin"), randomBytes(2000), Buffer.from("\r\n"), CLOSE]),
    );
    await expect
      .poll(() => adapter.events.some((e) => e.startsWith("body done")), { interval: 5 })
      .toBe(true);
    sent.req.destroy();
    await outcome;
    expect(adapter.events.at(-1)).toMatch(/^failed .* Aborted$/);
    expect(await adapter.keys()).toEqual([]);
  });

  it("aborts the backend write when the body is truncated (malformed multipart)", async () => {
    const outcome = expectOutcome();
    const response = await send(fileHead("f", "cut.bin"), randomBytes(10_000));
    expect((await outcome).error?.message).toMatch(/Unexpected end/);
    expect(response).toMatchObject({ status: 400 });
    expect(adapter.events.at(-1)).toMatch(/^failed .* Aborted$/);
    expect(await adapter.keys()).toEqual([]);
  });

  it("aborts the backend write when the caller's signal fires", async () => {
    const outcome = expectOutcome();
    const sent = openUpload();
    sent.req.write(fileHead("f", "slow.bin"));
    sent.req.write(randomBytes(5_000));
    await writeStarted();
    cancel.controller.abort();
    await expect.poll(() => adapter.events.at(-1), { interval: 5 }).toMatch(/^failed .* Aborted$/);
    // multer answers once the client has finished sending (it drains the body first).
    sent.req.end(Buffer.concat([Buffer.from("\r\n"), CLOSE]));
    expect((await outcome).error?.message).toMatch(/cancelled/);
    expect(await sent.response).toMatchObject({ status: 400 });
    expect(await adapter.keys()).toEqual([]);
  });

  it("removes the stored object when a later part makes multer reject the request", async () => {
    const outcome = expectOutcome();
    await send(
      fileHead("f", "first.bin"),
      randomBytes(1000),
      Buffer.from("\r\n"),
      fieldPart("late", "x".repeat(500)),
      CLOSE,
    );
    expect((await outcome).error?.code).toBe("LIMIT_FIELD_VALUE");
    const key = adapter.events.find((e) => e.startsWith("stored "))?.slice("stored ".length);
    expect(key).toBeDefined();
    expect(adapter.events).toContain(`delete ${key}`);
    expect(await adapter.keys()).toEqual([]);
  });

  it("removes the first file when a second file exceeds limits.files", async () => {
    const outcome = expectOutcome();
    await send(
      fileHead("a", "one.bin"),
      randomBytes(1000),
      Buffer.from("\r\n"),
      fileHead("b", "two.bin"),
      randomBytes(1000),
      Buffer.from("\r\n"),
      CLOSE,
    );
    expect((await outcome).error?.code).toBe("LIMIT_FILE_COUNT");
    expect(adapter.events.filter((e) => e.startsWith("delete "))).toHaveLength(1);
    expect(await adapter.keys()).toEqual([]);
  });

  it("passes the adapter's StorageError through unchanged when the backend fails", async () => {
    adapter.failWith = "Unavailable";
    const outcome = expectOutcome();
    const response = await send(
      fileHead("f", "x.bin"),
      randomBytes(50_000),
      Buffer.from("\r\n"),
      CLOSE,
    );
    const { error } = await outcome;
    expect(error).toMatchObject({ name: "StorageError", code: "Unavailable" });
    expect(response).toMatchObject({ status: 400 });
    expect(await adapter.keys()).toEqual([]);
  });

  it("refuses the file without writing when the key function throws", async () => {
    const outcome = expectOutcome();
    await send(fileHead("f", "refuse.bin"), randomBytes(1000), Buffer.from("\r\n"), CLOSE);
    expect((await outcome).error?.message).toBe("refused by the key function");
    expect(adapter.events).toEqual([]);
  });

  it("handles concurrent uploads independently", async () => {
    const bodies = Array.from({ length: 8 }, () => randomBytes(30_000));
    const results = bodies.map(() => expectOutcome());
    const responses = await Promise.all(
      bodies.map((bytes) => send(fileHead("f", "c.bin"), bytes, Buffer.from("\r\n"), CLOSE)),
    );
    expect(responses.every((r) => !(r instanceof Error) && r.status === 200)).toBe(true);
    const digests = new Set((await Promise.all(results)).map((o) => onlyFile(o).sha256));
    expect(digests).toEqual(
      new Set(bodies.map((b) => createHash("sha256").update(b).digest("hex"))),
    );
    expect(await adapter.keys()).toHaveLength(8);
  });
});
