import { readlinkSync } from "node:fs";
import { mkdtemp, open, readdir, realpath, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";

/**
 * What `durable` changes: whether everything a write creates — the data file, its sidecar,
 * and the entries naming them in their folders, new folders included — is fsynced before
 * the write resolves. The fsyncs are watched on the FileHandle prototype every handle
 * shares (the real calls still run), and each is named by the path its descriptor has.
 */
let root: string;
let syncs: ReturnType<typeof vi.spyOn>;
/** Paths fsynced, relative to the root ("" is the root itself). */
let synced: string[];

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "mediagate-fs-durability-")));
  const probe = await open(join(root, "probe"), "w");
  const prototype = Object.getPrototypeOf(probe) as { sync: (this: FileHandle) => Promise<void> };
  await probe.close();
  await rm(join(root, "probe"));
  synced = [];
  const sync = prototype.sync;
  syncs = vi.spyOn(prototype, "sync").mockImplementation(function (this: FileHandle) {
    synced.push(relative(root, readlinkSync(`/proc/self/fd/${this.fd}`)));
    return sync.call(this);
  });
});

afterEach(async () => {
  syncs.mockRestore();
  await rm(root, { recursive: true, force: true });
});

const body = () => Readable.from([Buffer.from("durable bytes")]);

describe("durability", () => {
  it("is on by default: data, sidecar, and every new entry's folder are fsynced before write resolves", async () => {
    const adapter = new FsAdapter({ root, createRoot: true });
    expect(adapter.durable).toBe(true);
    await adapter.write("a/one.txt", body());

    const meta = join(RESERVED_DIR, "meta");
    const [fanOut] = await readdir(join(root, meta));
    const [keyDir] = await readdir(join(root, meta, fanOut ?? ""));
    const [sidecar] = await readdir(join(root, meta, fanOut ?? "", keyDir ?? ""));
    const sidecarPath = join(meta, fanOut ?? "", keyDir ?? "", sidecar ?? "");
    const data = synced.filter((path) => path.startsWith(join(RESERVED_DIR, "tmp") + "/"));
    expect(data).toHaveLength(1);
    expect([...synced].sort()).toEqual(
      [
        ...data, // the data, synced under its temp name before the rename
        sidecarPath, // the sidecar's bytes
        dirname(sidecarPath), // the sidecar's entry
        dirname(dirname(sidecarPath)), // the key's new sidecar folder
        meta, // the new fan-out folder
        RESERVED_DIR, // the new meta folder
        "a", // the renamed object's entry
        "", // the object's new folder
      ].sort(),
    );
    expect(syncs).toHaveBeenCalledTimes(8);
  });

  it("overwriting a key syncs only what the write adds", async () => {
    const adapter = new FsAdapter({ root, createRoot: true });
    await adapter.write("a/one.txt", body());
    synced = [];
    await adapter.write("a/one.txt", body());
    // Overwriting: data, the new sidecar and its entry, the object's entry, and the key's
    // sidecar folder's entry (synced on every write). No new folder.
    expect(synced).toHaveLength(5);
    expect(synced).toContain("a");
    expect(synced).not.toContain("");
  });

  it("off: nothing is fsynced, and the write is still complete and atomic", async () => {
    const adapter = new FsAdapter({ root, createRoot: true, durable: false });
    await adapter.write("a/one.txt", body(), { contentType: "text/plain" });
    expect(syncs).not.toHaveBeenCalled();
    const { info, body: stored } = await adapter.read("a/one.txt");
    expect(info.contentType).toBe("text/plain");
    expect(Buffer.concat(await stored.toArray()).toString()).toBe("durable bytes");
  });
});
