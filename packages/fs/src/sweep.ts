import type { Dirent } from "node:fs";
import { lstat, readdir, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import {
  fileVersion,
  parseSidecarName,
  sameVersion,
  sidecarBase,
  type FileVersion,
  type Layout,
} from "./layout.ts";
import { restoredMatch } from "./lookup.ts";
import { migrateLegacy } from "./sweep-legacy.ts";

export interface SweepResult {
  /** Temp files of writes no process finished (killed mid-write). */
  tempFiles: number;
  /** Sidecars no object's version matches, and empty or unreadable ones. */
  sidecars: number;
  /** Bytes those files held. */
  bytes: number;
}

export interface SweepContext {
  layout: Layout;
  /** Files of this process's writes in progress: never removed, whatever their age. */
  owned: ReadonlySet<string>;
  /** Leftovers must be older than this (ms since the epoch) to go. */
  cutoff: number;
  /**
   * Folders neither changed since this time (ms) are skipped: the previous sweep saw all
   * they hold old enough to judge. Undefined: every folder is read.
   */
  unchangedBefore: number | undefined;
  /** The real sidecar folder of a key, made when missing (for the legacy migration). */
  sidecarFolder(key: string): Promise<string>;
  syncFolder(dir: string): Promise<void>;
  durable: boolean;
}

const listing = (dir: string) =>
  readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return [] as Dirent[];
    throw err;
  });
const stats = (path: string) => lstat(path).catch(() => undefined);

/** Removes one leftover file and counts it. */
async function remove(
  path: string,
  size: number,
  result: SweepResult,
  kind: "tempFiles" | "sidecars",
) {
  try {
    await unlink(path);
  } catch {
    return; // Gone already (another process's sweep): not ours to count.
  }
  result[kind]++;
  result.bytes += size;
}

export async function sweepLeftovers(ctx: SweepContext): Promise<SweepResult> {
  const result: SweepResult = { tempFiles: 0, sidecars: 0, bytes: 0 };
  for (const entry of await listing(ctx.layout.tmpDir)) {
    const path = join(ctx.layout.tmpDir, entry.name);
    if (!entry.isFile() || ctx.owned.has(path)) continue;
    const found = await stats(path);
    if (found && found.mtimeMs < ctx.cutoff) await remove(path, found.size, result, "tempFiles");
  }
  await sweepFolder(ctx, ctx.layout.sidecarRoot, result);
  await migrateLegacy(ctx, result);
  return result;
}

/**
 * One folder of the sidecar tree, then the folders below it; each left empty is removed if
 * this sweep emptied it or it has been empty since before the cutoff (a write that has
 * just made it, and finds it gone, makes it again). Returns whether anything was removed.
 */
async function sweepFolder(ctx: SweepContext, dir: string, result: SweepResult): Promise<boolean> {
  const before = result.sidecars;
  const entries = await listing(dir);
  const files = entries.filter((e) => e.isFile());
  if (files.length > 0 && (await changed(ctx, dir))) await sweepSidecars(ctx, dir, files, result);
  let removedFolder = false;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const sub = join(dir, entry.name);
    const emptied = await sweepFolder(ctx, sub, result);
    if (emptied || ((await stats(sub))?.mtimeMs ?? Infinity) < ctx.cutoff) {
      removedFolder =
        (await rmdir(sub).then(
          () => true,
          () => false,
        )) || removedFolder;
    }
  }
  return removedFolder || result.sidecars > before;
}

async function changed(ctx: SweepContext, dir: string): Promise<boolean> {
  if (ctx.unchangedBefore === undefined) return true;
  const [own, objects] = await Promise.all([stats(dir), stats(ctx.layout.objectFolderOf(dir))]);
  return Math.max(own?.mtimeMs ?? Infinity, objects?.mtimeMs ?? Infinity) >= ctx.unchangedBefore;
}

/**
 * Judges the sidecars of one folder against the objects of the folder it mirrors: each
 * object keeps the sidecar of its version (or the one a restored copy rounded its mtime
 * from); the rest, and empty or unreadable ones, go once they are older than the cutoff.
 */
async function sweepSidecars(
  ctx: SweepContext,
  dir: string,
  files: Dirent[],
  result: SweepResult,
): Promise<void> {
  const objectFolder = ctx.layout.objectFolderOf(dir);
  const objects = new Map<string, string>();
  for (const entry of await listing(objectFolder)) {
    if (entry.isFile()) objects.set(sidecarBase(entry.name), entry.name);
  }
  const groups = new Map<string, { path: string; bytes: number; version: FileVersion }[]>();
  for (const file of files) {
    const path = join(dir, file.name);
    const found = await stats(path);
    if (!found || ctx.owned.has(path) || found.mtimeMs >= ctx.cutoff) continue;
    const parsed = parseSidecarName(file.name);
    if (!parsed || found.size === 0) {
      await remove(path, found.size, result, "sidecars");
      continue;
    }
    const group = groups.get(parsed.base) ?? [];
    group.push({ path, bytes: found.size, version: parsed.version });
    groups.set(parsed.base, group);
  }
  for (const [base, group] of groups) {
    const name = objects.get(base);
    const object = name
      ? await lstat(join(objectFolder, name), { bigint: true }).catch(() => undefined)
      : undefined;
    const version = object?.isFile() ? fileVersion(object) : undefined;
    const kept = version
      ? (group.find((g) => sameVersion(g.version, version)) ?? restoredMatch(version, group))
      : undefined;
    for (const g of group) {
      if (g !== kept) await remove(g.path, g.bytes, result, "sidecars");
    }
  }
}
