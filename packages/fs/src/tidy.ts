import { existsSync } from "node:fs";
import { rmdir, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { sidecarName, type FileVersion, type Layout } from "./layout.ts";
import { isInside } from "./paths.ts";

/** Removes `dir` and its ancestors while they are empty, stopping at (never removing) `top`. */
export async function pruneEmptyFolders(top: string, dir: string): Promise<void> {
  for (let current = dir; current !== top && isInside(top, current); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return; // Not empty (or already gone): its ancestors are not empty either.
    }
  }
}

/**
 * Removes the sidecar of one version of `key` (it was replaced or deleted), in this layout
 * and in the legacy one while that still exists. Failures are left to the sweep: the object
 * is already in its new state, and a sidecar of a version no file has is never served.
 */
export async function dropSidecarsOf(
  layout: Layout,
  key: string,
  version: FileVersion,
  sidecarFolder = layout.sidecarFolder(key),
): Promise<void> {
  await unlink(join(sidecarFolder, sidecarName(basename(key), version))).catch(() => undefined);
  if (!existsSync(layout.legacyMetaDir)) return;
  const legacy = layout.legacySidecarDir(key);
  if (!existsSync(legacy)) return;
  await unlink(layout.legacySidecarPath(key, version)).catch(() => undefined);
  await pruneEmptyFolders(layout.legacyMetaDir, legacy);
}
