/**
 * The spool alone: temp files for parts that came before their fields, under a byte budget.
 * (spool-budget.test.ts checks the same budget through a real gateway process.)
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Spool } from "../src/upload/spool.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-spool-test-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const never = new AbortController().signal;
const chunks = (count: number, size: number) =>
  Readable.from(Array.from({ length: count }, (_, i) => Buffer.alloc(size, i)));

describe("the spool", () => {
  it("keeps a part in a temp file and gives its bytes back when removed", async () => {
    const spool = new Spool(dir, 1024);
    const file = await spool.write(chunks(4, 100), never);
    expect(file.size).toBe(400);
    expect(spool.used).toBe(400);
    const body = await readFile(file.path);
    expect(body.length).toBe(400);
    expect(body[399]).toBe(3);
    await spool.remove(file);
    expect(spool.used).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a part the moment it would pass the budget, removing its file at once", async () => {
    const spool = new Spool(dir, 1000);
    const held = await spool.write(chunks(6, 100), never);
    const body = new PassThrough();
    const refused = spool.write(body, never);
    for (let i = 0; i < 5; i++) body.write(Buffer.alloc(100));
    await expect(refused).rejects.toMatchObject({ code: "SPOOL_FULL" });
    // The refused part stopped being read: its source is not destroyed (multer drains it).
    expect(body.destroyed).toBe(false);
    expect(spool.used).toBe(600);
    expect(await readdir(dir)).toEqual([held.path.slice(dir.length + 1)]);
    await spool.remove(held);
    expect(spool.used).toBe(0);
  });

  it("counts concurrent parts against one budget", async () => {
    const spool = new Spool(dir, 2000);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => spool.write(chunks(8, 100), never)),
    );
    const kept = results.filter((r) => r.status === "fulfilled");
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(kept.length).toBeLessThan(5);
    expect(spool.used).toBe(kept.length * 800);
    expect(await readdir(dir)).toHaveLength(kept.length);
  });

  it("a cancelled part leaves no file and holds nothing", async () => {
    const spool = new Spool(dir, 10_000);
    const body = new PassThrough();
    const cancel = new AbortController();
    const writing = spool.write(body, cancel.signal);
    body.write(Buffer.alloc(500));
    setImmediate(() => cancel.abort(new Error("client gone")));
    await expect(writing).rejects.toThrow("client gone");
    expect(spool.used).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it("sweeps old files no live upload holds, and nothing else", async () => {
    const spool = new Spool(dir, 10_000);
    const live = await spool.write(chunks(1, 10), never);
    const dead = join(dir, `spool-${"d".repeat(32)}`);
    const young = join(dir, `spool-${"e".repeat(32)}`);
    const foreign = join(dir, "notes.txt");
    for (const path of [dead, young, foreign]) await writeFile(path, "x");
    const old = new Date(Date.now() - 3_600_000);
    for (const path of [dead, foreign, live.path]) await utimes(path, old, old);
    expect(await spool.sweep(60_000)).toEqual({ files: 1, bytes: 1 });
    expect((await readdir(dir)).sort()).toEqual(
      [live.path, young, foreign].map((p) => p.slice(dir.length + 1)).sort(),
    );
  });

  // A real ENOSPC from a tiny tmpfs (mounting needs root, which CI is).
  it("reports a full disk as Full, not as an interrupted upload", async () => {
    const mount = join(dir, "tiny");
    execFileSync("mkdir", [mount]);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]);
    try {
      const spool = new Spool(mount, 10 * 1024 * 1024);
      await expect(spool.write(chunks(4, 64 * 1024), never)).rejects.toMatchObject({
        code: "Full",
      });
      expect(await readdir(mount)).toEqual([]);
      expect(spool.used).toBe(0);
    } finally {
      execFileSync("umount", [mount]);
    }
  });
});
