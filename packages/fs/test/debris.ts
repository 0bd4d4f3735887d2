import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { RESERVED_DIR } from "../src/index.ts";

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * What a failed or aborted write could leave behind under `root`: any temp file, and any
 * sidecar that describes no stored version of its object (its data file is missing or
 * has a different size/mtime). Read from disk independently of the adapter's own code.
 */
export async function debris(root: string): Promise<string[]> {
  const found = (await filesUnder(join(root, RESERVED_DIR, "tmp"))).map((p) => `temp file ${p}`);
  for (const path of await filesUnder(join(root, RESERVED_DIR, "meta"))) {
    const { key, size, mtimeMs } = JSON.parse(await readFile(path, "utf8")) as {
      key: string;
      size: number;
      mtimeMs: number;
    };
    const stats = await lstat(join(root, ...key.split("/")), { bigint: true }).catch(
      () => undefined,
    );
    const matches =
      stats && Number(stats.size) === size && Number(stats.mtimeNs / 1_000_000n) === mtimeMs;
    if (!matches) found.push(`orphan sidecar ${path} (key ${key})`);
  }
  return found;
}
