import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { countBytes, forEachLimit, type BackendSdk, type ByteSpan } from "./types.ts";

/**
 * Every file under `dir`. A server may remove a folder while this walks (a temp folder of
 * an upload cut short): what vanished is skipped rather than failing the whole walk, as a
 * recursive readdir would.
 */
async function* walkFiles(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkFiles(path);
    else if (entry.isFile()) yield path;
  }
}

/** The local folder: a stream piped into a file (via a temp name, renamed once complete). */
export function fsSdk(root: string): BackendSdk {
  const target = (key: string) => join(root, key);
  return {
    download(key: string, range?: ByteSpan): Promise<number> {
      return countBytes(createReadStream(target(key), range));
    },
    async upload(key: string, body: Readable): Promise<void> {
      const path = target(key);
      await mkdir(dirname(path), { recursive: true });
      await pipeline(body, createWriteStream(`${path}.partial`));
      await rename(`${path}.partial`, path);
    },
    async put(key: string, data: Buffer): Promise<void> {
      const path = target(key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
    },
    async ensureBucket(): Promise<void> {
      await mkdir(root, { recursive: true });
    },
    async purge() {
      let objects = 0;
      let bytes = 0;
      await forEachLimit(walkFiles(root), 16, async (path) => {
        // A server may still be removing a temp file of an upload its client cut short.
        const found = await stat(path).catch(() => undefined);
        if (!found) return;
        bytes += found.size;
        objects++;
        await rm(path, { force: true });
      });
      return { objects, bytes };
    },
  };
}
