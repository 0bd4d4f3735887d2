import { existsSync, type BigIntStats } from "node:fs";
import { link, lstat, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ObjectInfo } from "@mediagate/core";
import {
  fileVersion,
  parseSidecarName,
  sameVersion,
  sidecarBase,
  sidecarName,
  versionName,
  type FileVersion,
  type Layout,
} from "./layout.ts";
import { readLegacySidecars, readSidecar, type Sidecar } from "./sidecar.ts";

/**
 * Finds the sidecar of one version of `key`: the exact one, else the legacy layout's, else
 * (see `restoredMatch`) the one a copy of the folder lost precision on. `stillThere` tells
 * whether the file at the key is still that version: when it is not, a write replaced it
 * (and removed this version's sidecar) after the caller opened it, and "retry" says so.
 */
export async function findSidecar(
  layout: Layout,
  key: string,
  version: FileVersion,
  stillThere: (() => Promise<boolean>) | undefined,
): Promise<Sidecar | undefined | "retry"> {
  const exactPath = layout.sidecarPath(key, version);
  const exact = await readSidecar(exactPath, key);
  if (exact && sameVersion(exact, version)) return exact;
  const legacy = existsSync(layout.legacyMetaDir);
  if (legacy) {
    const old = await readSidecar(layout.legacySidecarPath(key, version), key);
    if (old && sameVersion(old, version)) return old;
  }
  if (stillThere && !(await stillThere())) return "retry";

  // A copy that rounded the file's mtime: one of this layout's sidecars, healed in place so
  // the next read finds it exactly, or one of the legacy folder's. A millisecond off is
  // looked up by name; only a whole-second mtime (tar) needs the folder read.
  const folder = layout.sidecarFolder(key);
  const base = sidecarBase(basename(key));
  const names =
    version.mtimeMs % 1000 === 0
      ? await readdir(folder).catch(() => [] as string[])
      : [-1, 1]
          .map((off) => sidecarName(basename(key), { ...version, mtimeMs: version.mtimeMs + off }))
          .filter((name) => existsSync(join(folder, name)));
  const candidates = names.flatMap((name) => {
    const parsed = parseSidecarName(name);
    return parsed?.base === base ? [{ name, version: parsed.version }] : [];
  });
  const match = restoredMatch(version, candidates);
  if (match) {
    const found = await readSidecar(join(folder, match.name), key);
    if (found && restoredMatch(version, [found])) {
      await link(join(folder, match.name), exactPath).catch(() => undefined);
      return found;
    }
  }
  if (!legacy) return undefined;
  return restoredMatch(version, await readLegacySidecars(layout.legacySidecarDir(key), key));
}

/**
 * The one candidate a file of `version` is a timestamp-rounded copy of, if exactly one fits.
 * Copies that "preserve timestamps" round them: Node's fs.cp goes through floating-point
 * seconds, tar's default format keeps whole seconds. A candidate fits with the same size
 * and an mtime within a millisecond, or in the same second when the file's mtime is a
 * whole second. Only asked when the file at the key is still the one read, so an in-flight
 * write's sidecar is never mistaken for this one's in practice.
 */
export function restoredMatch<T extends { version: FileVersion } | FileVersion>(
  version: FileVersion,
  candidates: T[],
): T | undefined {
  const wholeSecond = version.mtimeMs % 1000 === 0;
  const fits = candidates.filter((candidate) => {
    const c: FileVersion = "version" in candidate ? candidate.version : candidate;
    return (
      c.size === version.size &&
      (Math.abs(c.mtimeMs - version.mtimeMs) <= 1 ||
        (wholeSecond && Math.floor(c.mtimeMs / 1000) === version.mtimeMs / 1000))
    );
  });
  return fits.length === 1 ? fits[0] : undefined;
}

/**
 * The info of the version in `stats`, from the sidecar bound to it (none: served as
 * application/octet-stream). Undefined (when `mayRetry`) if a write replaced the file after
 * it was opened and removed its sidecar: the caller then starts again on the new version.
 */
export async function describeObject(
  layout: Layout,
  key: string,
  stats: BigIntStats,
  mayRetry: boolean,
): Promise<ObjectInfo | undefined> {
  const version = fileVersion(stats);
  const stillThere = async () => {
    const now = await lstat(layout.objectPath(key), { bigint: true }).catch(() => undefined);
    return now?.isFile() === true && sameVersion(fileVersion(now), version);
  };
  const found = await findSidecar(layout, key, version, mayRetry ? stillThere : undefined);
  if (found === "retry") return undefined;
  const sidecar: Sidecar = found ?? {
    key,
    ...version,
    etag: versionName(version),
    contentType: "application/octet-stream",
    metadata: {},
  };
  return {
    key,
    size: version.size,
    contentType: sidecar.contentType,
    ...(sidecar.contentDisposition === undefined
      ? {}
      : { contentDisposition: sidecar.contentDisposition }),
    etag: sidecar.etag,
    lastModified: new Date(version.mtimeMs),
    metadata: { ...sidecar.metadata },
  };
}
