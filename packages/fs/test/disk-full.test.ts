import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { expectStorageError, readAll } from "@mediagate/core/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";
import { debris } from "./debris.ts";

const run = promisify(execFile);
const KiB = 1024;

/**
 * A real full disk: a 1 MiB tmpfs mounted for these tests (they run as root here and in
 * CI; mounting is the one thing they cannot do without it, and they fail saying so).
 */
let mountPoint: string;
let mounted = false;

beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), "mediagate-fs-full-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]);
  } catch (err) {
    throw new Error(`these tests mount a 1 MiB tmpfs and need root to do it: ${String(err)}`, {
      cause: err,
    });
  }
  mounted = true;
});

afterAll(async () => {
  if (mounted) await run("umount", [mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

/** Fills the volume until only `room` bytes are free; returns the filler's path. */
async function leaveRoom(room: number, name: string): Promise<string> {
  const { bavail, bsize } = await statfs(mountPoint);
  const filler = join(mountPoint, name);
  await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - room)));
  return filler;
}

const bodyOf = (bytes: number) => {
  let left = bytes;
  return new Readable({
    read() {
      const size = Math.min(64 * KiB, left);
      left -= size;
      this.push(size > 0 ? Buffer.alloc(size, 1) : null);
    },
  });
};

describe.each([true, false])("a full disk (durable: %s)", (durable) => {
  it("fails a streamed write with Full, leaving nothing; writes work again once there is room", async () => {
    const root = join(mountPoint, `stream-${durable}`);
    const adapter = new FsAdapter({ root, createRoot: true, durable });
    await adapter.check();
    const error = await expectStorageError(
      adapter.write("big/file.bin", bodyOf(2048 * KiB)),
      "Full",
    );
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ENOSPC");
    await expectStorageError(adapter.stat("big/file.bin"), "NotFound");
    expect(await debris(root)).toEqual([]);
    expect(await readdir(join(root, RESERVED_DIR, "tmp"))).toEqual([]);

    const info = await adapter.write("big/file.bin", bodyOf(100 * KiB), { metadata: { a: "1" } });
    expect(info.size).toBe(100 * KiB);
    expect((await readAll((await adapter.read("big/file.bin")).body)).length).toBe(100 * KiB);
    await rm(root, { recursive: true });
  });

  it("fails a small write whose data fits but whose sidecar does not with Full, leaving nothing", async () => {
    const root = join(mountPoint, `small-${durable}`);
    const adapter = new FsAdapter({ root, createRoot: true, durable });
    await adapter.write("day/warm", bodyOf(1));
    // Room for the 16 KiB of data and not one page more.
    const filler = await leaveRoom(16 * KiB, `filler-${durable}`);
    await expectStorageError(
      adapter.write("day/photo.jpg", bodyOf(16 * KiB), { metadata: { uid: "1" } }),
      "Full",
    );
    await expectStorageError(adapter.stat("day/photo.jpg"), "NotFound");
    expect(await debris(root)).toEqual([]);
    await rm(filler);
    await adapter.write("day/photo.jpg", bodyOf(16 * KiB), { metadata: { uid: "1" } });
    expect((await adapter.stat("day/photo.jpg")).metadata).toEqual({ uid: "1" });
    await rm(root, { recursive: true });
  });
});
