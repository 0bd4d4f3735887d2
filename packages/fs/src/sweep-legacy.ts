import { link, lstat, readdir, readFile, rmdir, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileVersion, sameVersion, sidecarName } from "./layout.ts";
import { restoredMatch } from "./lookup.ts";
import { parseSidecar, type Sidecar } from "./sidecar.ts";
import type { SweepContext, SweepResult } from "./sweep.ts";

const names = (dir: string) => readdir(dir).catch(() => [] as string[]);

/**
 * Moves the first, legacy layout (`meta/<xx>/<sha256 of key>/<version>.json`) into
 * this one, a key folder at a time: each sidecar that still describes its object (exactly,
 * or as the copy of a restore) is linked into the mirror tree under its own version's name
 * (made durable first when writes are), then unlinked, so a reader always finds one of the
 * two; the others go as leftovers once older than the cutoff. Emptied folders go too, and
 * once the whole `meta` folder is gone, readers stop looking there.
 */
export async function migrateLegacy(ctx: SweepContext, result: SweepResult): Promise<void> {
  const meta = ctx.layout.legacyMetaDir;
  for (const fanOut of await names(meta)) {
    for (const keyDir of await names(join(meta, fanOut))) {
      await migrateKeyFolder(ctx, join(meta, fanOut, keyDir), result);
    }
    await rmdir(join(meta, fanOut)).catch(() => undefined);
  }
  await rmdir(meta).catch(() => undefined);
}

async function migrateKeyFolder(ctx: SweepContext, dir: string, result: SweepResult) {
  const found: { path: string; bytes: number; mtimeMs: number; sidecar?: Sidecar }[] = [];
  for (const name of await names(dir)) {
    const path = join(dir, name);
    const stats = await lstat(path).catch(() => undefined);
    if (!stats?.isFile()) continue;
    const sidecar = parseSidecar(await readFile(path, "utf8").catch(() => ""));
    found.push({
      path,
      bytes: stats.size,
      mtimeMs: stats.mtimeMs,
      ...(sidecar ? { sidecar } : {}),
    });
  }
  const key = found.find((f) => f.sidecar)?.sidecar?.key;
  const object = key
    ? await lstat(ctx.layout.objectPath(key), { bigint: true }).catch(() => undefined)
    : undefined;
  const version = object?.isFile() ? fileVersion(object) : undefined;
  const described = found.flatMap((f) => (f.sidecar?.key === key && f.sidecar ? [f.sidecar] : []));
  const current = version
    ? (described.find((s) => sameVersion(s, version)) ?? restoredMatch(version, described))
    : undefined;
  for (const f of found) {
    if (current && key && f.sidecar === current) {
      const folder = await ctx.sidecarFolder(key);
      await link(f.path, join(folder, sidecarName(basename(key), current))).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code !== "EEXIST") throw err;
        },
      );
      if (ctx.durable) await ctx.syncFolder(folder);
      await unlink(f.path).catch(() => undefined);
    } else if (f.mtimeMs < ctx.cutoff && !ctx.owned.has(f.path)) {
      await unlink(f.path).then(
        () => {
          result.sidecars++;
          result.bytes += f.bytes;
        },
        () => undefined,
      );
    }
  }
  await rmdir(dir).catch(() => undefined);
}
