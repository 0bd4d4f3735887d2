import { mkdir, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { readAll, streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";
import { debris } from "./debris.ts";
import { tempDir } from "./temp-root.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const longAgo = new Date(Date.now() - 2 * DAY_MS);
const age = (path: string) => utimes(path, longAgo, longAgo);
const none = { tempFiles: 0, sidecars: 0, bytes: 0 };

async function sidecarsOf(root: string, folder: string): Promise<string[]> {
  return (await readdir(join(root, RESERVED_DIR, "sidecars", folder)).catch(() => [])).sort();
}

describe("sweepLeftovers", () => {
  it("removes other processes' temp files by age, never this process's live ones", async () => {
    const root = await tempDir("sweep-temps");
    const adapter = new FsAdapter({ root });
    await adapter.write("warm/up", streamOf("x")); // its temp folder is ready (no probe file)
    const body = new PassThrough();
    const writing = adapter.write("live/upload.bin", body);
    body.write(Buffer.alloc(600 * 1024, 1)); // more than a batch: on disk now
    const tmp = join(root, RESERVED_DIR, "tmp");
    await expect.poll(async () => (await readdir(tmp).catch(() => [])).length).toBe(1);
    const [live] = await readdir(tmp);
    await age(join(tmp, live ?? ""));
    await writeFile(join(tmp, "crashed-old"), "x".repeat(100));
    await age(join(tmp, "crashed-old"));
    await writeFile(join(tmp, "other-process-live"), "y");

    expect(await adapter.sweepLeftovers({ olderThanMs: 60_000 })).toEqual({
      tempFiles: 1,
      sidecars: 0,
      bytes: 100,
    });
    expect((await readdir(tmp)).sort()).toEqual([live, "other-process-live"].sort());
    body.end(Buffer.alloc(10, 2));
    expect((await writing).size).toBe(600 * 1024 + 10);
    expect(await adapter.removeStaleTempFiles(0)).toBe(1); // the old API: temp files only counted
    expect(await readdir(tmp)).toEqual([]);
  });

  it("removes sidecars whose object is gone or changed, and empty ones, once old enough", async () => {
    const root = await tempDir("sweep-sidecars");
    const adapter = new FsAdapter({ root, durable: false });
    await adapter.write("d/kept.txt", streamOf("kept"), { metadata: { a: "1" } });
    await adapter.write("d/deleted-by-hand.txt", streamOf("gone"));
    await adapter.write("d/replaced-by-hand.txt", streamOf("before"));
    await adapter.write("d/empty-sidecar.txt", streamOf("e"));
    await rm(join(root, "d", "deleted-by-hand.txt"));
    await writeFile(join(root, "d", "replaced-by-hand.txt"), "after, longer");
    const folder = join(root, RESERVED_DIR, "sidecars", "d");
    const empty = (await sidecarsOf(root, "d")).find((n) => n.startsWith("empty-sidecar.txt~"));
    await writeFile(join(folder, empty ?? ""), "");

    // Young: nothing is judged yet.
    expect(await adapter.sweepLeftovers({ olderThanMs: 60_000 })).toEqual(none);
    for (const name of await readdir(folder)) await age(join(folder, name));
    const swept = await adapter.sweepLeftovers({ olderThanMs: 60_000 });
    expect(swept).toMatchObject({ tempFiles: 0, sidecars: 3 });
    expect(swept.bytes).toBeGreaterThan(0);
    expect((await sidecarsOf(root, "d")).map((n) => n.split("~")[0])).toEqual(["kept.txt"]);
    expect((await adapter.stat("d/kept.txt")).metadata).toEqual({ a: "1" });
    expect(await debris(root)).toEqual([]);
  });

  it("keeps the sidecar of a restored copy whose mtime lost its milliseconds", async () => {
    const root = await tempDir("sweep-restored");
    const adapter = new FsAdapter({ root });
    await adapter.write("v/clip.mp4", streamOf("frames"), { contentType: "video/mp4" });
    const file = join(root, "v", "clip.mp4");
    const whole = Math.floor((await stat(file)).mtimeMs / 1000);
    await utimes(file, whole, whole); // whole seconds, as tar keeps them
    const folder = join(root, RESERVED_DIR, "sidecars", "v");
    for (const name of await readdir(folder)) await age(join(folder, name));

    expect(await new FsAdapter({ root }).sweepLeftovers({ olderThanMs: 0 })).toEqual(none);
    const restored = new FsAdapter({ root });
    expect((await restored.stat("v/clip.mp4")).contentType).toBe("video/mp4");
    expect((await readAll((await restored.read("v/clip.mp4")).body)).toString()).toBe("frames");
  });

  it("after its first sweep, a process reads only the folders changed since its last one", async () => {
    const root = await tempDir("sweep-incremental");
    const adapter = new FsAdapter({ root });
    await adapter.write("old/a.txt", streamOf("a"));
    await adapter.write("new/b.txt", streamOf("b"));
    expect(await adapter.sweepLeftovers({ olderThanMs: 0 })).toEqual(none);
    // An orphan in a folder pair untouched since well before that sweep, and one in a
    // folder changed since: only the second is looked at.
    for (const dir of ["old", "new"]) await rm(join(root, dir, `${dir === "old" ? "a" : "b"}.txt`));
    await mkdir(join(root, "old"), { recursive: true });
    await mkdir(join(root, "new"), { recursive: true });
    const sidecars = join(root, RESERVED_DIR, "sidecars");
    for (const dir of [join(root, "old"), join(sidecars, "old")]) await age(dir);
    for (const name of await sidecarsOf(root, "old")) await age(join(sidecars, "old", name));
    for (const name of await sidecarsOf(root, "new")) await age(join(sidecars, "new", name));
    await age(join(sidecars, "old"));

    expect((await adapter.sweepLeftovers({ olderThanMs: 0 })).sidecars).toBe(1);
    expect(await sidecarsOf(root, "old")).toHaveLength(1);
    // A new process sweeps everything once.
    expect((await new FsAdapter({ root }).sweepLeftovers({ olderThanMs: 0 })).sidecars).toBe(1);
    expect(await sidecarsOf(root, "old")).toEqual([]);
  });

  it("refuses a bound that is not a non-negative number", async () => {
    const adapter = new FsAdapter({ root: await tempDir("sweep-args") });
    await expect(adapter.sweepLeftovers({ olderThanMs: -1 })).rejects.toMatchObject({
      code: "InvalidArgument",
    });
  });
});
