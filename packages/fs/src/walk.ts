import type { Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { compareKeys, isValidKey, type ListEntry } from "@mediagate/core";

/**
 * Yields the objects below `dir` in key order, reading each directory only when the walk
 * reaches it, so a caller that stops early never pays for the rest of the tree.
 *
 * Key order is UTF-8 byte order of whole keys, so a folder sorts as its name plus '/':
 * "a-b" < "a/…" < "a0", as on S3, though a plain sort of names would put "a" first.
 * Symlinks are never followed or listed (one could lead outside the root), and names that
 * are not valid keys — bookkeeping starting with '.', files dropped in by hand — are skipped.
 */
export async function* walkObjects(
  dir: string,
  keyPrefix: string,
  namePrefix: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<ListEntry> {
  signal?.throwIfAborted();
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // Removed while we walked (an emptied folder after a delete): nothing to list.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw err;
  }
  const items = entries
    .filter(
      (e) =>
        (e.isFile() || e.isDirectory()) &&
        e.name.startsWith(namePrefix) &&
        isValidKey(keyPrefix + e.name),
    )
    .map((e) => ({
      name: e.name,
      isDir: e.isDirectory(),
      order: e.isDirectory() ? `${e.name}/` : e.name,
    }))
    .sort((a, b) => compareKeys(a.order, b.order));

  for (const item of items) {
    const key = keyPrefix + item.name;
    const path = join(dir, item.name);
    if (item.isDir) {
      yield* walkObjects(path, `${key}/`, "", signal);
      continue;
    }
    let stats;
    try {
      stats = await lstat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    if (stats.isFile()) yield { key, size: stats.size, lastModified: stats.mtime };
  }
}
