/**
 * The last-resort answer: an error nobody classified (a bug, not a storage failure) is a
 * 500 `INTERNAL` in the same JSON shape as every refusal, never Express's HTML page and
 * never its text. Adapters only throw StorageErrors, so no real backend can produce one on
 * purpose: this one gateway runs in-process on a local folder whose reads are made to fail
 * the way a bug would. It is about the gateway's error handler, not about any backend.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type {
  ListEntry,
  ListOptions,
  ObjectInfo,
  OperationOptions,
  ReadResult,
  StorageAdapter,
  WriteOptions,
} from "@mediagate/core";
import { FsAdapter } from "@mediagate/fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.ts";
import { startGateway } from "../src/gateway.ts";
import { createLogger } from "../src/http/logging.ts";
import type { RunningServer } from "../src/server/http-server.ts";
import { TOKEN } from "./support/backend-session.ts";
import { expectRefusal } from "./support/forms.ts";
import { send } from "./support/http.ts";
import { logLines } from "./support/log-lines.ts";

const BUG = "Cannot read properties of undefined (reading 'etag')";

/** A working store whose stat and read throw what a programming error would: a TypeError. */
class BuggyReads implements StorageAdapter {
  readonly name = "buggy";
  readonly #inner: StorageAdapter;
  constructor(inner: StorageAdapter) {
    this.#inner = inner;
  }
  write(key: string, body: Readable, options?: WriteOptions): Promise<ObjectInfo> {
    return this.#inner.write(key, body, options);
  }
  read(): Promise<ReadResult> {
    return Promise.reject(new TypeError(BUG));
  }
  stat(): Promise<ObjectInfo> {
    return Promise.reject(new TypeError(BUG));
  }
  delete(key: string, options?: OperationOptions): Promise<void> {
    return this.#inner.delete(key, options);
  }
  list(prefix?: string, options?: ListOptions): AsyncIterable<ListEntry> {
    return this.#inner.list(prefix, options);
  }
  check(options?: OperationOptions): Promise<void> {
    return this.#inner.check(options);
  }
}

describe("an unclassified error", () => {
  let root: string;
  let server: RunningServer;
  const { sink: logSink, lines } = logLines();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "mediagate-internal-"));
    const logger = createLogger("info", logSink);
    const config = loadConfig(
      { AUTH_TOKENS: TOKEN, SPOOL_DIR: join(root, "spool"), HOST: "127.0.0.1", PORT: "0" },
      root,
    );
    server = await startGateway(config, logger, {
      storage: new BuggyReads(new FsAdapter({ root: join(root, "store"), createRoot: true })),
    });
  });

  afterAll(async () => {
    await server?.shutdown();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const key = `2026/01/01/${"ab".repeat(20)}.jpg`;

  it("answers 500 INTERNAL as JSON with result: false, without the error's text", async () => {
    const res = await send(`${server.url}/files/${key}`);
    expectRefusal(res, 500, "INTERNAL");
    expect(res.json).toEqual({
      result: false,
      error: { code: "INTERNAL", message: "Internal error." },
    });
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.text).not.toContain(BUG);
    expect(res.text).not.toMatch(/<html|<pre|TypeError/i);
    // HEAD gets the status and type, without a body.
    const head = await send(`${server.url}/files/${key}`, { method: "HEAD" });
    expect({ status: head.status, length: head.body.length }).toEqual({ status: 500, length: 0 });
    expect(head.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("logs it at error level with the cause, for the operator", () => {
    // One line for the request: its refusal, at error level, with the cause.
    const logged = lines.find(
      (l) => (l.refusal as { code?: string } | undefined)?.code === "INTERNAL" && l.level === 50,
    );
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain(BUG);
  });
});
