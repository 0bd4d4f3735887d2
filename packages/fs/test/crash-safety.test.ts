import { spawn } from "node:child_process";
import { access, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
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

  it("leaves no object when the writing process is killed mid-write; stale temps can be swept", async () => {
    const root = await tempDir("crash");
    const fixture = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));
    const child = spawn(
      process.execPath,
      ["--conditions=source", fixture, root, "media/crashed.bin"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("streaming")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`crash writer exited early (${code})`)));
      });
    } finally {
      child.kill("SIGKILL");
    }
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null
        ? resolve(null)
        : child.once("exit", resolve),
    );

    const adapter = new FsAdapter({ root });
    expect(await exists(join(root, "media", "crashed.bin"))).toBe(false);
    await expectStorageError(adapter.stat("media/crashed.bin"), "NotFound");
    // The killed process could not clean up: its temp file is the only trace, in the reserved area.
    const left = await debris(root);
    expect(left.length).toBe(1);
    expect(left[0]).toMatch(/^temp file /);
    expect(await adapter.removeStaleTempFiles(60_000)).toBe(0);
    expect(await adapter.removeStaleTempFiles(0)).toBe(1);
    expect(await debris(root)).toEqual([]);
  });
});
