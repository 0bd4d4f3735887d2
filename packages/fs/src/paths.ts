import { existsSync } from "node:fs";
import { mkdir, realpath } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
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

/** Refuses real paths that lead into the adapter's own bookkeeping (via a symlink). */
export function assertNotReserved(root: string, real: string, operation: string, key: string) {
  const rel = relative(root, real);
  if (rel !== "" && rel.split(sep).some((segment) => segment.startsWith("."))) {
    throw escapeError(operation, key);
  }
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

/**
 * Creates `dir` (and missing parents) without ever creating anything outside `root`:
 * `mkdir -p` would follow a symlinked parent wherever it points, so the deepest existing
 * ancestor is found (existsSync: a missing folder is the normal case here, not an error),
 * resolved and checked first, and only the missing tail is created beneath its real path.
 * Returns the real path of `dir`, checked again once it exists, and the folders that were
 * missing (outermost first): the caller fsyncs their parents when writes are durable.
 */
export async function ensureDirInside(
  root: string,
  dir: string,
  operation: string,
  key?: string,
  attempt = 1,
): Promise<{ real: string; created: string[] }> {
  const missing: string[] = [];
  let existing = dir;
  while (existing !== root && !existsSync(existing)) {
    missing.unshift(basename(existing));
    existing = dirname(existing);
  }
  const real = await realInside(root, existing, operation, key);
  if (missing.length === 0) return { real, created: [] };
  try {
    // Concurrent writers creating the same folders is fine: recursive mkdir tolerates it.
    await mkdir(join(real, ...missing), { recursive: true });
    const created = missing.map((_, depth) => join(real, ...missing.slice(0, depth + 1)));
    return { real: await realInside(root, dir, operation, key), created };
  } catch (err) {
    // A concurrent delete pruned a folder, emptied again, while mkdir was creating the
    // chain or before realpath saw it: make it again.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= MAX_ENSURE_ATTEMPTS) {
      throw err;
    }
    return ensureDirInside(root, dir, operation, key, attempt + 1);
  }
}

/** How often a folder pruned under a writer is recreated before the write gives up. */
const MAX_ENSURE_ATTEMPTS = 20;
