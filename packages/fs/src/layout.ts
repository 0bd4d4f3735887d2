import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";

/**
 * Where things live under the root. Objects are plain files at their key's path, so an
 * operator can browse and back up the folder with ordinary tools. Everything else sits in
 * one folder whose name starts with '.', a segment no valid key can contain, so adapter
 * bookkeeping can never collide with an object or be reached through a key.
 */
export const RESERVED_DIR = ".mediagate";

/** Longest file name most filesystems take (NAME_MAX), in bytes. */
const NAME_MAX = 255;

export class Layout {
  readonly root: string;
  /** Temp files for writes in progress; same filesystem as the objects, so rename is atomic. */
  readonly tmpDir: string;
  /**
   * Sidecars, in a tree that mirrors the objects' folders: the sidecar of `a/b/c.jpg` is
   * `sidecars/a/b/c.jpg~<version>.json`. A key folder's sidecars share one folder, so the
   * day's uploads share its fsync, and no folder grows larger than the objects' own.
   */
  readonly sidecarRoot: string;
  /** The first layout: `meta/<xx>/<sha256 of key>/<version>.json`, read as is. */
  readonly legacyMetaDir: string;

  constructor(realRoot: string) {
    this.root = realRoot;
    this.tmpDir = join(realRoot, RESERVED_DIR, "tmp");
    this.sidecarRoot = join(realRoot, RESERVED_DIR, "sidecars");
    this.legacyMetaDir = join(realRoot, RESERVED_DIR, "meta");
  }

  /** Absolute path of the object file; the key is already valid, so this is purely lexical. */
  objectPath(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  /** The folder holding the key's sidecars (the mirror of the object's folder). */
  sidecarFolder(key: string): string {
    return dirname(join(this.sidecarRoot, ...key.split("/")));
  }

  sidecarPath(key: string, version: FileVersion): string {
    return join(this.sidecarFolder(key), sidecarName(basename(key), version));
  }

  /** The object folder a sidecar folder mirrors. */
  objectFolderOf(sidecarFolder: string): string {
    return join(this.root, sidecarFolder.slice(this.sidecarRoot.length));
  }

  /** The legacy sidecar folder of a key, named by the key's hash. */
  legacySidecarDir(key: string): string {
    const digest = createHash("sha256").update(key).digest("hex");
    return join(this.legacyMetaDir, digest.slice(0, 2), digest);
  }

  legacySidecarPath(key: string, version: FileVersion): string {
    return join(this.legacySidecarDir(key), `${versionName(version)}.json`);
  }
}

/**
 * `<object name>~<version>.json`. '~' cannot occur in a key, so no folder of the mirror can
 * take a sidecar's name. A name too long to take the suffix within NAME_MAX is replaced by
 * `#` and its SHA-256 ('#' cannot occur in a key either).
 */
export function sidecarName(objectName: string, version: FileVersion): string {
  return `${sidecarBase(objectName)}~${versionName(version)}.json`;
}

export function sidecarBase(objectName: string): string {
  const room = NAME_MAX - "~".length - ".json".length - MAX_VERSION_NAME;
  return Buffer.byteLength(objectName) <= room
    ? objectName
    : `#${createHash("sha256").update(objectName).digest("hex")}`;
}

/** The object base and version a sidecar's file name gives, or undefined for other names. */
export function parseSidecarName(name: string): { base: string; version: FileVersion } | undefined {
  const match = /^(.+)~([0-9a-z]+)-([0-9a-z]+)\.json$/.exec(name);
  if (!match) return undefined;
  const size = parseInt(match[2] as string, 36);
  const mtimeMs = parseInt(match[3] as string, 36);
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(mtimeMs)) return undefined;
  return { base: match[1] as string, version: { size, mtimeMs } };
}

/**
 * The identity of one version of an object's bytes: its file's size and mtime in whole
 * milliseconds. Milliseconds rather than nanoseconds, because copies that "preserve
 * timestamps" often keep only milliseconds (Node's fs.cp, some backup tools).
 */
export interface FileVersion {
  size: number;
  mtimeMs: number;
}

/** Base 36 of the largest safe integer (11) and of a millisecond time before 5188 (9), and '-'. */
const MAX_VERSION_NAME = 11 + 1 + 9;

export function fileVersion(stats: { size: bigint; mtimeNs: bigint }): FileVersion {
  return { size: Number(stats.size), mtimeMs: Number(stats.mtimeNs / 1_000_000n) };
}

export function versionName(version: FileVersion): string {
  return `${version.size.toString(36)}-${version.mtimeMs.toString(36)}`;
}

export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs;
}
