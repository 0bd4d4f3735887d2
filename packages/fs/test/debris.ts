import { lstat, readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { RESERVED_DIR } from "../src/index.ts";

async function entriesUnder(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await entriesUnder(dir)).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Whether the sidecar at `path` describes the version of the file stored under its key. */
async function describesStoredVersion(root: string, path: string): Promise<string | undefined> {
  const text = await readFile(path, "utf8");
  if (text === "") return "empty";
  const { key, size, mtimeMs } = JSON.parse(text) as { key: string; size: number; mtimeMs: number };
  const stats = await lstat(join(root, ...key.split("/")), { bigint: true }).catch(() => undefined);
  const matches =
    stats && Number(stats.size) === size && Number(stats.mtimeNs / 1_000_000n) === mtimeMs;
  return matches ? undefined : `key ${key}`;
}

/**
 * What a failed or aborted write could leave behind under `root`, read from disk
 * independently of the adapter's own code: any temp file; any sidecar that is empty or
 * describes no stored version of its object (its data file is missing or has a different
 * size/mtime), or sits in a folder that does not mirror its key's; any sidecar folder left
 * empty; and the same in the legacy layout (`meta/<xx>/<sha256 of key>/<version>.json`).
 */
export async function debris(root: string): Promise<string[]> {
  const reserved = join(root, RESERVED_DIR);
  const found = (await filesUnder(join(reserved, "tmp"))).map((p) => `temp file ${p}`);
  const sidecars = join(reserved, "sidecars");
  for (const path of await filesUnder(sidecars)) {
    const problem = await describesStoredVersion(root, path);
    if (problem) found.push(`orphan sidecar ${path} (${problem})`);
    const { key } = JSON.parse((await readFile(path, "utf8")) || "{}") as { key?: string };
    const folder = relative(sidecars, dirname(path)).split(sep).join("/");
    if (key && folder !== key.split("/").slice(0, -1).join("/")) {
      found.push(`misplaced sidecar ${path} (key ${key})`);
    }
  }
  for (const entry of await entriesUnder(sidecars)) {
    const dir = join(entry.parentPath, entry.name);
    if (entry.isDirectory() && (await readdir(dir)).length === 0) {
      found.push(`empty sidecar folder ${dir}`);
    }
  }
  const legacy = join(reserved, "meta");
  for (const path of await filesUnder(legacy)) {
    const problem = await describesStoredVersion(root, path);
    if (problem) found.push(`orphan legacy sidecar ${path} (${problem})`);
  }
  for (const entry of await entriesUnder(legacy)) {
    const dir = join(entry.parentPath, entry.name);
    if (entry.isDirectory() && (await readdir(dir)).length === 0) {
      found.push(`empty legacy sidecar folder ${dir}`);
    }
  }
  return found;
}
