import { cp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readAll, streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";
import { debris } from "./debris.ts";
import { tempDir } from "./temp-root.ts";

/**
 * Etags name versions, not digests: each distinct content read must come with one etag of
 * its own, the same every time it is read.
 */
function etagBook() {
  const byText = new Map<string, string>();
  return {
    check(text: string, etag: string) {
      const known = byText.get(text);
      if (known === undefined) byText.set(text, etag);
      else expect(etag).toBe(known);
    },
    expectDistinct() {
      expect(new Set(byText.values()).size).toBe(byText.size);
    },
  };
}

describe("metadata sidecars", () => {
  it("never pairs one version's bytes with another's metadata while overwrites race reads", async () => {
    const root = await tempDir("race");
    const adapter = new FsAdapter({ root });
    // Same size every time, written back to back: versions land in the same clock tick.
    const version = (i: number) => `v${String(i).padStart(4, "0")}`;
    await adapter.write("obj", streamOf(version(0)), { metadata: { v: version(0) } });
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 150; i++) {
        await adapter.write("obj", streamOf(version(i)), { metadata: { v: version(i) } });
      }
      writing = false;
    })();
    let reads = 0;
    const etags = etagBook();
    while (writing) {
      const { body, info } = await adapter.read("obj");
      const text = (await readAll(body)).toString();
      expect(info.metadata.v).toBe(text);
      etags.check(text, info.etag);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
    etags.expectDistinct();
    expect(await debris(root)).toEqual([]);
  });

  it("gives back-to-back same-size writes distinct etags, each kept by its version", async () => {
    const root = await tempDir("ticks");
    const adapter = new FsAdapter({ root });
    const etags = etagBook();
    for (const text of ["aaaa", "bbbb", "cccc", "dddd"]) {
      const info = await adapter.write("k", streamOf(text));
      etags.check(text, info.etag);
      expect((await adapter.stat("k")).etag).toBe(info.etag);
      expect((await readAll((await adapter.read("k")).body)).toString()).toBe(text);
    }
    etags.expectDistinct();
  });

  it("serves a file copied in by hand as application/octet-stream with a stable etag", async () => {
    const root = await tempDir("by-hand");
    const adapter = new FsAdapter({ root });
    await writeFile(join(root, "dropped.bin"), "by hand");
    const first = await adapter.stat("dropped.bin");
    expect(first).toMatchObject({ size: 7, contentType: "application/octet-stream", metadata: {} });
    expect(first.contentDisposition).toBeUndefined();
    expect(first.etag.length).toBeGreaterThan(0);
    expect((await adapter.stat("dropped.bin")).etag).toBe(first.etag);
    await writeFile(join(root, "dropped.bin"), "changed by hand");
    expect((await adapter.stat("dropped.bin")).etag).not.toBe(first.etag);
  });

  it("keeps metadata when the folder is copied with timestamps preserved (a restored backup)", async () => {
    const base = await tempDir("restore");
    const adapter = new FsAdapter({ root: join(base, "live"), createRoot: true });
    const written = await adapter.write("photos/cat.jpg", streamOf("meow"), {
      contentType: "image/jpeg",
      contentDisposition: "inline",
      metadata: { uid: "7" },
    });
    await cp(join(base, "live"), join(base, "restored"), {
      recursive: true,
      preserveTimestamps: true,
    });
    const restored = await new FsAdapter({ root: join(base, "restored") }).stat("photos/cat.jpg");
    expect(restored).toMatchObject({
      contentType: "image/jpeg",
      contentDisposition: "inline",
      metadata: { uid: "7" },
      etag: written.etag,
    });
  });

  it("keeps metadata when a copy kept mtimes only to the second (tar)", async () => {
    const base = await tempDir("tar");
    const adapter = new FsAdapter({ root: join(base, "live"), createRoot: true });
    await adapter.write("v.mp4", streamOf("frames"), {
      contentType: "video/mp4",
      metadata: { mid: "9" },
    });
    await cp(join(base, "live"), join(base, "restored"), {
      recursive: true,
      preserveTimestamps: true,
    });
    const file = join(base, "restored", "v.mp4");
    const whole = new Date(Math.floor((await stat(file)).mtimeMs / 1000) * 1000);
    await utimes(file, whole, whole);
    const restored = await new FsAdapter({ root: join(base, "restored") }).stat("v.mp4");
    expect(restored).toMatchObject({ contentType: "video/mp4", metadata: { mid: "9" } });
  });

  it("finds, and links under the exact version, the sidecar of a copy whose mtime moved by a millisecond", async () => {
    const root = await tempDir("one-ms");
    const adapter = new FsAdapter({ root });
    const written = await adapter.write("a/b.jpg", streamOf("bytes"), {
      contentType: "image/jpeg",
      metadata: { uid: "3" },
    });
    const file = join(root, "a", "b.jpg");
    const earlier = (written.lastModified.getTime() - 1 + 0.5) / 1000;
    await utimes(file, earlier, earlier);
    const copy = new FsAdapter({ root });
    expect(await copy.stat("a/b.jpg")).toMatchObject({
      contentType: "image/jpeg",
      etag: written.etag,
    });
    const sidecars = await readdir(join(root, RESERVED_DIR, "sidecars", "a"));
    expect(sidecars).toHaveLength(2); // the original, and its link under the copy's version
    expect((await copy.read("a/b.jpg")).info.metadata).toEqual({ uid: "3" });
  });

  it("drops the sidecar with the object", async () => {
    const root = await tempDir("drop");
    const adapter = new FsAdapter({ root });
    await adapter.write("gone", streamOf("x"), { metadata: { a: "1" } });
    await adapter.delete("gone");
    // A new object under the same key must not inherit anything.
    await writeFile(join(root, "gone"), "x");
    expect((await adapter.stat("gone")).metadata).toEqual({});
    expect(await debris(root)).toEqual([]);
  });

  it("makes a key folder's sidecar folder again when it was removed after a write remembered it", async () => {
    const root = await tempDir("refolder");
    const adapter = new FsAdapter({ root });
    await adapter.write("day/first.txt", streamOf("1"));
    // What a delete, a failed write or a sweep elsewhere can do: the mirror folder goes
    // while this process still remembers it as made and proven.
    await rm(join(root, RESERVED_DIR, "sidecars", "day"), { recursive: true });
    await adapter.write("day/raced.txt", streamOf("kept"), {
      contentType: "text/plain",
      metadata: { uid: "5" },
    });
    expect(await adapter.stat("day/raced.txt")).toMatchObject({
      contentType: "text/plain",
      metadata: { uid: "5" },
    });
  });
});
