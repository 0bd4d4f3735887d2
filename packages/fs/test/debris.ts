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
 * has a different size/mtime), and any key's sidecar folder left empty. Read from disk
 * independently of the adapter's own code.
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
  for (const dir of await keyFolders(join(root, RESERVED_DIR, "meta"))) {
    if ((await readdir(dir)).length === 0) found.push(`empty sidecar folder ${dir}`);
  }
  return found;
}

/** The per-key sidecar folders: meta/<fan-out>/<sha256 of the key>. */
async function keyFolders(meta: string): Promise<string[]> {
  const folders: string[] = [];
  for (const fanOut of await readdir(meta).catch(() => [] as string[])) {
    for (const entry of await readdir(join(meta, fanOut), { withFileTypes: true })) {
      if (entry.isDirectory()) folders.push(join(meta, fanOut, entry.name));
    }
  }
  return folders;
}
