import { mkdir, open, realpath } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { StorageError } from "@mediagate/core";

export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Thrown when a path resolves outside the root: a symlink planted inside the folder. */
export function escapeError(operation: string, key: string | undefined): StorageError {
  return new StorageError(
    "Unauthorized",
    `${operation}${key ? ` "${key}"` : ""}: the path leads outside the storage root (symlink); refused.`,
    { operation, key },
  );
}

/**
 * The real path of `path`, proven to lie inside `root` (itself a real path). Symlinks are
 * followed by realpath, so one pointing outside is caught here rather than used.
 */
export async function realInside(
  root: string,
  path: string,
  operation: string,
  key?: string,
): Promise<string> {
  const real = await realpath(path);
  if (!isInside(root, real)) throw escapeError(operation, key);
  return real;
}

export interface EnsureDirOptions {
  /**
   * fsync the folder above each folder created, so the new folders survive a power loss
   * (`dir` itself is the caller's to sync once it has put entries in it).
   */
  durable?: boolean;
}

/**
 * Creates `dir` (and missing parents) without ever creating anything outside `root`:
 * `mkdir -p` would follow a symlinked parent wherever it points, so the deepest existing
 * ancestor is resolved and checked first, and only the missing tail is created, beneath
 * its real path. Returns the real path of `dir`, checked again once it exists.
 */
export async function ensureDirInside(
  root: string,
  dir: string,
  operation: string,
  key?: string,
  options: EnsureDirOptions = {},
  attempt = 1,
): Promise<string> {
  const missing: string[] = [];
  let existing = dir;
  let real: string | undefined;
  while (real === undefined) {
    try {
      real = await realInside(root, existing, operation, key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || existing === root) throw err;
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
  if (missing.length === 0) return real;
  try {
    // Concurrent writers creating the same folders is fine: recursive mkdir tolerates it.
    await mkdir(join(real, ...missing), { recursive: true });
    if (options.durable) {
      for (let depth = 0; depth < missing.length; depth++) {
        await fsyncDir(join(real, ...missing.slice(0, depth)));
      }
    }
    return await realInside(root, dir, operation, key);
  } catch (err) {
    // A concurrent delete pruned a folder, emptied again, while mkdir was creating the
    // chain or before realpath saw it (found by the gateway's fuzz suite on the shared
    // spool folder): make it again.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= MAX_ENSURE_ATTEMPTS) {
      throw err;
    }
    return ensureDirInside(root, dir, operation, key, options, attempt + 1);
  }
}

/** How often a folder pruned under a writer is recreated before the write gives up. */
const MAX_ENSURE_ATTEMPTS = 20;

/** Makes a rename or a new entry durable: it is only on disk once its folder is synced. */
export async function fsyncDir(dir: string): Promise<void> {
  await syncFile(dir);
}

export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
