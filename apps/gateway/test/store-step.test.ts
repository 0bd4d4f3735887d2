/**
 * The store step alone: the one path both upload paths take into storage. Driven with
 * plain streams into core's in-memory adapter (a full adapter: validation, ranges, writes
 * that only appear once complete), so each rule is checked without HTTP around it.
 */
import { createHash } from "node:crypto";
import { PassThrough, Readable, Transform } from "node:stream";
import { MemoryAdapter, type StorageAdapter } from "@mediagate/core";
import { describe, expect, it } from "vitest";
import { sharedTokenAuthenticator } from "../src/auth/authenticator.ts";
import { loadConfig } from "../src/config/load.ts";
import { HttpError } from "../src/http/errors.ts";
import { createLogger } from "../src/http/logging.ts";
import { Lifecycle } from "../src/server/lifecycle.ts";
import { StoreStep, type StoreInput, type UploadHook } from "../src/upload/store.ts";
import { logLines } from "./support/log-lines.ts";

const TOKEN = "store-step-token-0123456789";
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082",
  "hex",
);
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function setup(hooks: UploadHook[] = [], env: Record<string, string> = {}) {
  const storage = new MemoryAdapter();
  const config = loadConfig({ AUTH_TOKENS: TOKEN, ...env }, "/srv");
  const store = new StoreStep({
    storage,
    authenticator: sharedTokenAuthenticator([TOKEN]),
    config: config.upload,
    lifecycle: new Lifecycle(),
    hooks,
  });
  return { storage, store };
}

function input(body: Readable, overrides: Partial<StoreInput> = {}): StoreInput {
  return {
    auth: TOKEN,
    fields: { uid: "42", mid: "7", source: "message" },
    originalName: "photo.png",
    declaredType: "image/png",
    body,
    size: undefined,
    signal: new AbortController().signal,
    progress: () => 0,
    log: createLogger("silent"),
    ...overrides,
  };
}

async function keys(storage: StorageAdapter): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of storage.list()) found.push(entry.key);
  return found;
}

describe("the store step", () => {
  it("stores the bytes under a generated key with the client's fields, size and hash", async () => {
    const { storage, store } = setup();
    const stored = await store.store(input(Readable.from([PNG])));
    expect(stored).toMatchObject({ size: PNG.length, sha256: sha256(PNG) });
    expect(stored.key).toMatch(/^[0-9a-f]{2}\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{40}\.png$/);
    const info = await storage.stat(stored.key);
    expect(info.contentType).toBe("image/png");
    expect(info.metadata).toEqual({
      uid: "42",
      mid: "7",
      source: "message",
      filename: "photo.png",
      size: String(PNG.length),
      sha256: sha256(PNG),
    });
  });

  it("refuses a bad token before reading the body, and stores nothing", async () => {
    const { storage, store } = setup();
    const body = new PassThrough();
    await expect(
      store.store(input(body, { auth: "wrong-token-0123456789" })),
    ).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
    expect(body.readableFlowing).toBeNull();
    expect(await keys(storage)).toEqual([]);
  });

  it("decides the type from the bytes: a PNG declared as JPEG is stored as PNG", async () => {
    const { storage, store } = setup();
    const stored = await store.store(input(Readable.from([PNG]), { declaredType: "image/jpeg" }));
    expect((await storage.stat(stored.key)).contentType).toBe("image/png");
  });

  it("refuses a type outside ALLOWED_TYPES with 415, storing nothing", async () => {
    const { storage, store } = setup([], { ALLOWED_TYPES: "video/*" });
    await expect(store.store(input(Readable.from([PNG])))).rejects.toMatchObject({
      code: "UNSUPPORTED_MEDIA_TYPE",
    });
    expect(await keys(storage)).toEqual([]);
  });

  it("runs the hooks in order: admit, transform before the hash, encode after it, commit", async () => {
    const calls: string[] = [];
    const upper = () =>
      new Transform({
        transform(chunk: Buffer, _e, done) {
          done(null, Buffer.from(chunk.toString("latin1").toUpperCase(), "latin1"));
        },
      });
    const reverse = () => {
      const chunks: Buffer[] = [];
      return new Transform({
        transform(chunk: Buffer, _e, done) {
          chunks.push(chunk);
          done();
        },
        flush(done) {
          done(null, Buffer.from(Buffer.concat(chunks).reverse()));
        },
      });
    };
    const hook: UploadHook = {
      admit: (u) => void calls.push(`admit ${u.fields.uid}`),
      transform: (u) => {
        u.finalMetadata.stripped = "case";
        return upper();
      },
      encode: () => reverse(),
      commit: (_u, stored) => void calls.push(`commit ${stored.size}`),
    };
    const { storage, store } = setup([hook]);
    const text = Buffer.from("hello world");
    const stored = await store.store(
      input(Readable.from([text]), { declaredType: "text/plain", originalName: "a.txt" }),
    );
    expect(calls).toEqual(["admit 42", `commit ${text.length}`]);
    // The hash and size describe the transformed content, before the storage encoding.
    expect(stored.sha256).toBe(sha256(Buffer.from("HELLO WORLD")));
    const { body, info } = await storage.read(stored.key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("DLROW OLLEH");
    expect(info.metadata.stripped).toBe("case");
  });

  it("a refusing admit stores nothing and undoes the hooks admitted before it", async () => {
    const undone: string[] = [];
    const first: UploadHook = { abandon: () => void undone.push("first") };
    const refusing: UploadHook = {
      admit: () => {
        throw new HttpError("RATE_LIMITED", "slow down");
      },
      abandon: () => void undone.push("refusing"),
    };
    const never: UploadHook = { abandon: () => void undone.push("never admitted") };
    const { storage, store } = setup([first, refusing, never]);
    await expect(store.store(input(Readable.from([PNG])))).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
    expect(undone).toEqual(["refusing", "first"]);
    expect(await keys(storage)).toEqual([]);
  });

  it("a failing commit removes the stored object and is reported", async () => {
    let abandonedWith: unknown;
    const hook: UploadHook = {
      commit: () => {
        throw new HttpError("STORAGE_UNAVAILABLE", "ledger down");
      },
      abandon: (_u, stored) => void (abandonedWith = stored?.key),
    };
    const { storage, store } = setup([hook]);
    await expect(store.store(input(Readable.from([PNG])))).rejects.toMatchObject({
      code: "STORAGE_UNAVAILABLE",
    });
    expect(abandonedWith).toMatch(/\.png$/);
    expect(await keys(storage)).toEqual([]);
  });

  it("a body that fails mid-stream leaves nothing", async () => {
    const { storage, store } = setup();
    const body = new PassThrough();
    body.write(PNG);
    const stored = store.store(input(body));
    setImmediate(() => body.destroy(new Error("connection reset")));
    await expect(stored).rejects.toThrow();
    expect(await keys(storage)).toEqual([]);
  });

  it("a cancelled upload is reported with the cancel's reason, and leaves nothing", async () => {
    const { storage, store } = setup();
    const body = new PassThrough();
    body.write(PNG);
    const cancel = new AbortController();
    const stored = store.store(input(body, { signal: cancel.signal }));
    const { StorageError } = await import("@mediagate/core");
    setImmediate(() =>
      cancel.abort(
        new StorageError("Aborted", "The client disconnected before the upload finished."),
      ),
    );
    await expect(stored).rejects.toMatchObject({
      code: "Aborted",
      message: "The client disconnected before the upload finished.",
    });
    expect(await keys(storage)).toEqual([]);
  });

  it("a part multer truncated at the size limit is refused with 413, not kept", async () => {
    const { storage, store } = setup();
    const body = Object.assign(Readable.from([PNG]), { truncated: true });
    await expect(store.store(input(body))).rejects.toMatchObject({ code: "FILE_TOO_LARGE" });
    expect(await keys(storage)).toEqual([]);
  });

  it("discard removes a stored upload and lets every hook undo its commit", async () => {
    const { sink, lines } = logLines();
    const undone: string[] = [];
    const { storage, store } = setup([{ abandon: (_u, s) => void undone.push(s?.key ?? "") }]);
    const stored = await store.store(
      input(Readable.from([PNG]), { log: createLogger("info", sink) }),
    );
    await store.discard(stored);
    expect(undone).toEqual([stored.key]);
    expect(await keys(storage)).toEqual([]);
    expect(lines).toEqual([]);
  });
});
