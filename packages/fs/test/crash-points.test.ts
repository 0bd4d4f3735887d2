import { spawn } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expectStorageError, readAll, streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter, RESERVED_DIR } from "../src/index.ts";
import { debris } from "./debris.ts";
import { tempDir } from "./temp-root.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));
const KEY = "2025/12/06/clip.mp4";

/** Runs the crash writer until it reports it stopped at `stop`, then kills it with SIGKILL. */
async function killAt(root: string, stop: string, bytes: number, durable: boolean) {
  const child = spawn(
    process.execPath,
    ["--conditions=source", FIXTURE, root, KEY, stop, String(bytes), String(durable)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      let said = "";
      child.stdout.on("data", (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes(`stopped at ${stop}`)) resolve();
      });
      child.once("exit", (code) => reject(new Error(`crash writer exited early (${code})`)));
    });
    if (stop === "streaming") await tempFileReaches(root, bytes);
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Polls (no fixed sleep) until a temp file holds `bytes`: the stalled body reached the disk. */
async function tempFileReaches(root: string, bytes: number): Promise<void> {
  const tmp = join(root, RESERVED_DIR, "tmp");
  for (let i = 0; i < 2000; i++) {
    for (const name of await readdir(tmp).catch(() => [])) {
      if (((await stat(join(tmp, name)).catch(() => undefined))?.size ?? 0) >= bytes) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no temp file reached ${bytes} bytes`);
}

/** What must be true after a kill at each point, and what the sweep finds to remove. */
const POINTS = [
  { stop: "streaming", committed: false, temps: 1, orphans: 0 },
  { stop: "temp-written", committed: false, temps: 1, orphans: 0 },
  { stop: "sidecar-published", committed: false, temps: 1, orphans: 1 },
  { stop: "renamed", committed: true, temps: 0, orphans: 0 },
  { stop: "done", committed: true, temps: 0, orphans: 0 },
] as const;

const CASES = [
  { name: "a small new object, durable off", bytes: 20_000, durable: false, overwrite: false },
  { name: "a large overwrite, durable", bytes: 1024 * 1024 + 5, durable: true, overwrite: true },
] as const;

describe.each(CASES)("a writer killed during $name", ({ bytes, durable, overwrite }) => {
  // Concurrently: each point is a node process of its own, mostly waiting to start.
  it.concurrent.each(POINTS)(
    "at $stop: old or new object whole with its own metadata; the sweep leaves no debris",
    async ({ stop, committed, temps, orphans }) => {
      const root = await tempDir("crash-point");
      const adapter = new FsAdapter({ root, durable });
      if (overwrite) {
        await adapter.write(KEY, streamOf("old bytes"), {
          contentType: "text/plain",
          metadata: { v: "old" },
        });
      }
      await killAt(root, stop, bytes, durable);

      // Killed before the rename, an overwrite's old object stays (and a new key stays free);
      // from the rename on, the new object is whole, with its metadata.
      if (committed) {
        const { info, body } = await adapter.read(KEY);
        const read = await readAll(body);
        expect(read.length).toBe(bytes);
        expect(read.equals(Buffer.alloc(bytes, 0x6e))).toBe(true);
        expect(info).toMatchObject({ contentType: "video/mp4", metadata: { v: "new" } });
      } else if (overwrite) {
        const { info, body } = await adapter.read(KEY);
        expect((await readAll(body)).toString()).toBe("old bytes");
        expect(info).toMatchObject({ contentType: "text/plain", metadata: { v: "old" } });
      } else {
        await expectStorageError(adapter.stat(KEY), "NotFound");
        expect(await readdir(join(root, "2025", "12", "06")).catch(() => [])).toEqual([]);
      }

      // The only traces: the killed write's temp file and a sidecar of a version no file
      // has, or (killed after an overwrite's rename) the replaced version's sidecar; and
      // the sidecar folder made for a new key, still empty.
      const expectedOrphans = orphans + (overwrite && stop === "renamed" ? 1 : 0);
      const left = await debris(root);
      expect(left.filter((d) => d.startsWith("temp file"))).toHaveLength(temps);
      expect(left.filter((d) => d.startsWith("orphan sidecar"))).toHaveLength(expectedOrphans);
      const folders = left.filter((d) => d.startsWith("empty sidecar folder"));
      expect(folders).toHaveLength(!overwrite && stop === "temp-written" ? 1 : 0);
      expect(left).toHaveLength(temps + expectedOrphans + folders.length);

      // A fresh process's sweep: young leftovers stay, old ones go, the object is untouched.
      const sweeper = new FsAdapter({ root, durable });
      expect(await sweeper.sweepLeftovers({ olderThanMs: 60_000 })).toEqual({
        tempFiles: 0,
        sidecars: 0,
        bytes: 0,
      });
      const swept = await sweeper.sweepLeftovers({ olderThanMs: 0 });
      expect(swept.tempFiles).toBe(temps);
      expect(swept.sidecars).toBe(expectedOrphans);
      if (temps > 0) expect(swept.bytes).toBeGreaterThanOrEqual(stop === "streaming" ? 0 : bytes);
      expect(await debris(root)).toEqual([]);
      const after = await sweeper.stat(KEY).catch(() => undefined);
      if (committed) expect(after?.metadata).toEqual({ v: "new" });
      else if (overwrite) expect(after?.metadata).toEqual({ v: "old" });
      else expect(after).toBeUndefined();
    },
  );
});
