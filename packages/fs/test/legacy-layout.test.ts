import { cp, readdir, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expectStorageError, readAll, streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";
import { debris } from "./debris.ts";
import { tempDir } from "./temp-root.ts";

/**
 * A folder written by the adapter before 0.2 (sidecars in `meta/<xx>/<sha256 of key>/`),
 * with what crashes left in it: a temp file, a sidecar of a version no file has, a sidecar
 * of an object an operator deleted by hand, and an empty sidecar. Git keeps no mtimes, so
 * each object gets back the one its sidecar names, as a backup restore would keep it.
 */
const FIXTURE = fileURLToPath(new URL("./fixtures/legacy-root", import.meta.url));
const OBJECTS = [
  {
    key: "2025/01/02/photo.jpg",
    mtimeMs: 1796533634657,
    bytes: "jpeg bytes",
    info: {
      contentType: "image/jpeg",
      contentDisposition: "inline",
      metadata: { uid: "7", mid: "42" },
      etag: "a-mxbdqo9t",
    },
  },
  {
    key: "docs/readme.txt",
    mtimeMs: 1796533634677,
    bytes: "second version",
    info: { contentType: "text/markdown", metadata: { v: "2" }, etag: "e-mxbdqoad" },
  },
] as const;
const PHOTO_SHA = "30100223d1bfe1175ea93c765d0c91c1eb9ba9d582bea5a7c485fcb5d03429b9";
const GONE_SHA = "258dc011ef099fd6105f9e2dc926d2a15f30f2817e664fcb9ab6ce2b0c7d8dfd";
const EMPTY_SHA = "5d41402abc4b2a76b9719d911017c592ae2a2e1bd2a4e2d4b5a0ab3c9b4e4a31";
const TWO_DAYS_AGO = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);

async function legacyRoot(options: { wholeSeconds?: boolean } = {}): Promise<string> {
  const root = join(await tempDir("legacy"), "root");
  await cp(FIXTURE, root, { recursive: true });
  for (const entry of await readdir(join(root, RESERVED_DIR), {
    recursive: true,
    withFileTypes: true,
  })) {
    if (entry.isFile())
      await utimes(join(entry.parentPath, entry.name), TWO_DAYS_AGO, TWO_DAYS_AGO);
  }
  for (const { key, mtimeMs } of OBJECTS) {
    const ms = options.wholeSeconds ? Math.floor(mtimeMs / 1000) * 1000 : mtimeMs;
    const time = (ms + 0.5) / 1000;
    await utimes(join(root, ...key.split("/")), time, time);
  }
  return root;
}

async function expectObjects(adapter: FsAdapter, etags = true): Promise<void> {
  for (const { key, bytes, info } of OBJECTS) {
    const { info: read, body } = await adapter.read(key);
    expect((await readAll(body)).toString()).toBe(bytes);
    const { etag, ...rest } = info;
    expect(read).toMatchObject(etags ? info : rest);
    if (etags) expect((await adapter.stat(key)).etag).toBe(etag);
  }
  await expectStorageError(adapter.stat("gone.bin"), "NotFound");
}

describe("a folder in the legacy layout", () => {
  it("is read as is: content types, metadata and etags as they were written", async () => {
    const root = await legacyRoot();
    await expectObjects(new FsAdapter({ root }));
    const keys: string[] = [];
    for await (const entry of new FsAdapter({ root }).list()) keys.push(entry.key);
    expect(keys).toEqual(OBJECTS.map((o) => o.key).sort());
  });

  it("overwrites and deletes legacy objects, dropping their legacy sidecars", async () => {
    const root = await legacyRoot();
    const adapter = new FsAdapter({ root });
    await adapter.write("docs/readme.txt", streamOf("third"), { metadata: { v: "3" } });
    expect((await adapter.stat("docs/readme.txt")).metadata).toEqual({ v: "3" });
    await adapter.delete("2025/01/02/photo.jpg");
    const left = await debris(root);
    // Only the crash leftovers the fixture came with, none of these objects' sidecars.
    expect(left.filter((d) => d.includes("readme") || d.includes("a-mxbdqo9t"))).toEqual([]);
    expect(left.some((d) => d.includes("2025/01/02/photo.jpg") && d.includes("b-mxbdqoiv"))).toBe(
      true,
    );
  });

  it("is moved into the current layout by a sweep, which removes the crash leftovers", async () => {
    const root = await legacyRoot();
    const adapter = new FsAdapter({ root });
    const leftovers = [
      join("tmp", "6f1c1d1e-0000-4000-8000-000000000001"),
      join("meta", "30", PHOTO_SHA, "b-mxbdqoiv.json"), // a crashed overwrite's
      join("meta", "25", GONE_SHA, "1-mxbdqoai.json"), // an object deleted by hand
      join("meta", "5d", EMPTY_SHA, "3-mxbdqo00.json"), // empty
    ];
    let bytes = 0;
    for (const path of leftovers) bytes += (await stat(join(root, RESERVED_DIR, path))).size;
    expect(await adapter.sweepLeftovers({ olderThanMs: 60 * 60 * 1000 })).toEqual({
      tempFiles: 1,
      sidecars: 3,
      bytes,
    });
    expect(await readdir(join(root, RESERVED_DIR))).not.toContain("meta");
    expect(await readdir(join(root, RESERVED_DIR, "sidecars", "2025", "01", "02"))).toEqual([
      "photo.jpg~a-mxbdqo9t.json",
    ]);
    expect(await debris(root)).toEqual([]);
    await expectObjects(new FsAdapter({ root }));
    await expectObjects(adapter);
  });

  it("keeps its metadata through a restore that kept whole seconds, before and after the move", async () => {
    const root = await legacyRoot({ wholeSeconds: true });
    await expectObjects(new FsAdapter({ root }), false);
    await new FsAdapter({ root }).sweepLeftovers({ olderThanMs: 60 * 60 * 1000 });
    expect(await readdir(join(root, RESERVED_DIR))).not.toContain("meta");
    await expectObjects(new FsAdapter({ root }), false);
  });
});
