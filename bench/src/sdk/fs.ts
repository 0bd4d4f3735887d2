import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { countBytes, forEachLimit, type BackendSdk, type ByteSpan } from "./types.ts";

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
      const files = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      await forEachLimit(
        files.filter((f) => f.isFile()),
        16,
        async (file) => {
          const path = join(file.parentPath, file.name);
          const { size } = await stat(path);
          bytes += size;
          objects++;
          await rm(path, { force: true });
        },
      );
      return { objects, bytes };
    },
  };
}
