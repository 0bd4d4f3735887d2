import { access, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { expectStorageError, readAll, streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";
import { debris } from "./debris.ts";
import { tempDir } from "./temp-root.ts";

const MiB = 1024 * 1024;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Polls (no fixed sleep) until the single temp file of a write has `bytes` on disk. */
async function tempFileReaches(root: string, bytes: number): Promise<string> {
  const tmp = join(root, RESERVED_DIR, "tmp");
  for (let i = 0; i < 500; i++) {
    const names = await readdir(tmp).catch(() => []);
    for (const name of names) {
      const size = (await stat(join(tmp, name)).catch(() => undefined))?.size ?? 0;
      if (size >= bytes) return join(tmp, name);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`no temp file reached ${bytes} bytes`);
}

describe("crash safety", () => {
  it("never shows a file under the final key while a write is in flight", async () => {
    const root = await tempDir("inflight");
    const adapter = new FsAdapter({ root });
    const body = new PassThrough();
    const writing = adapter.write("media/clip.mp4", body);
    // More than the adapter gathers before writing, so some of it is on disk.
    body.write(Buffer.alloc(MiB, 1));
    const tmpFile = await tempFileReaches(root, MiB);

    expect(await exists(join(root, "media", "clip.mp4"))).toBe(false);
    await expectStorageError(adapter.stat("media/clip.mp4"), "NotFound");
    const listed: string[] = [];
    for await (const entry of adapter.list()) listed.push(entry.key);
    expect(listed).toEqual([]);

    body.end(Buffer.alloc(50_000, 2));
    const info = await writing;
    expect(info.size).toBe(MiB + 50_000);
    expect((await stat(join(root, "media", "clip.mp4"))).size).toBe(MiB + 50_000);
    expect(await exists(tmpFile)).toBe(false);
    expect(await debris(root)).toEqual([]);
  });

  it("keeps serving the old bytes and metadata while an overwrite is in flight", async () => {
    const root = await tempDir("overwrite");
    const adapter = new FsAdapter({ root });
    await adapter.write("doc", streamOf("old"), {
      contentType: "text/plain",
      metadata: { v: "1" },
    });
    const body = new PassThrough();
    const writing = adapter.write("doc", body, { contentType: "text/html", metadata: { v: "2" } });
    const partly = Buffer.alloc(MiB, "n");
    body.write(partly);
    await tempFileReaches(root, MiB);
    const during = await adapter.read("doc");
    expect((await readAll(during.body)).toString()).toBe("old");
    expect(during.info.contentType).toBe("text/plain");
    expect(during.info.metadata).toEqual({ v: "1" });
    body.end(" written");
    await writing;
    const after = await adapter.read("doc");
    expect(
      (await readAll(after.body)).equals(Buffer.concat([partly, Buffer.from(" written")])),
    ).toBe(true);
    expect(after.info).toMatchObject({ contentType: "text/html", metadata: { v: "2" } });
    expect(await debris(root)).toEqual([]);
  });
});
