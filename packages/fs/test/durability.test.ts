import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FsAdapter } from "../src/index.ts";

/**
 * What `durable` changes: whether the data file, its sidecar and the folder of the renamed
 * file are fsynced before a write resolves. The fsyncs are counted on the FileHandle
 * prototype every handle shares (the real calls still run).
 */
let root: string;
let syncs: ReturnType<typeof vi.spyOn>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "mediagate-fs-durability-"));
  const probe = await open(join(root, "probe"), "w");
  const prototype = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  syncs = vi.spyOn(prototype, "sync");
});

afterEach(async () => {
  syncs.mockRestore();
  await rm(root, { recursive: true, force: true });
});

const body = () => Readable.from([Buffer.from("durable bytes")]);

describe("durability", () => {
  it("is on by default: data, sidecar and folder are fsynced before write resolves", async () => {
    const adapter = new FsAdapter({ root, createRoot: true });
    expect(adapter.durable).toBe(true);
    await adapter.write("a/one.txt", body());
    expect(syncs).toHaveBeenCalledTimes(3);
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
