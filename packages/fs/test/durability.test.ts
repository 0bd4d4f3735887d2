import fs, { readlinkSync } from "node:fs";
import { mkdtemp, readdir, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DirSyncer } from "../src/dir-sync.ts";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";
import { poolIo } from "../src/io.ts";

/**
 * What `durable` changes: whether everything a write creates — the data file, its sidecar,
 * and the entries naming them in their folders, new folders included — is fsynced before
 * the write resolves. The fsyncs are watched on node:fs (the real calls still run), and
 * each is named by the path its descriptor has.
 */
let root: string;
let syncs: ReturnType<typeof vi.spyOn>;
/** Paths fsynced, relative to the root ("" is the root itself). */
let synced: string[];

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "mediagate-fs-durability-")));
  synced = [];
  const fsync = fs.fsync;
  syncs = vi.spyOn(fs, "fsync").mockImplementation(((fd: number, done: (err: unknown) => void) => {
    synced.push(relative(root, readlinkSync(`/proc/self/fd/${fd}`)));
    fsync(fd, done);
  }) as typeof fs.fsync);
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

    const sidecars = join(RESERVED_DIR, "sidecars");
    const [sidecar] = await readdir(join(root, sidecars, "a"));
    const data = synced.filter((path) => path.startsWith(join(RESERVED_DIR, "tmp") + "/"));
    expect(data).toHaveLength(1);
    expect([...synced].sort()).toEqual(
      [
        ...data, // the data, synced under its temp name before the rename
        join(sidecars, "a", sidecar ?? ""), // the sidecar's bytes
        join(sidecars, "a"), // the sidecar's entry
        sidecars, // the new sidecar folder a/ in its parent
        RESERVED_DIR, // the new sidecars/ folder in its parent
        "a", // the renamed object's entry
        "", // the object's new folder
      ].sort(),
    );
  });

  it("overwriting a key syncs only what the write adds", async () => {
    const adapter = new FsAdapter({ root, createRoot: true });
    await adapter.write("a/one.txt", body());
    synced = [];
    await adapter.write("a/one.txt", body());
    // Overwriting: data, the new sidecar and its entry, and the object's entry. No folder.
    expect(synced).toHaveLength(4);
    expect(synced).toContain("a");
    expect(synced).toContain(join(RESERVED_DIR, "sidecars", "a"));
    expect(synced).not.toContain("");
  });

  it("requests for one folder's fsync made while one runs share the next", async () => {
    const syncer = new DirSyncer(() => poolIo);
    const first = syncer.sync(root);
    // Made while the first runs: covered only by an fsync that starts after them, one for all.
    const waiting = Array.from({ length: 15 }, () => syncer.sync(root));
    await Promise.all([first, ...waiting]);
    expect(synced).toEqual(["", ""]);
    await syncer.sync(root);
    expect(synced).toHaveLength(3);
  });

  it("sixteen concurrent writes into one folder each sync their data", async () => {
    const adapter = new FsAdapter({ root, createRoot: true });
    await adapter.write("day/first", body());
    synced = [];
    await Promise.all(Array.from({ length: 16 }, (_, i) => adapter.write(`day/${i}`, body())));
    expect(synced.filter((path) => path.startsWith(join(RESERVED_DIR, "tmp")))).toHaveLength(16);
    expect(synced.filter((path) => path === "day").length).toBeGreaterThan(0);
    for (let i = 0; i < 16; i++) expect((await adapter.stat(`day/${i}`)).size).toBe(13);
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
