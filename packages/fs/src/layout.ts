import { createHash } from "node:crypto";
import { join } from "node:path";

/**
 * Where things live under the root. Objects are plain files at their key's path, so an
 * operator can browse and back up the folder with ordinary tools. Everything else sits in
 * one folder whose name starts with '.', a segment no valid key can contain, so adapter
 * bookkeeping can never collide with an object or be reached through a key.
 */
export const RESERVED_DIR = ".mediagate";

export class Layout {
  readonly root: string;
  /** Temp files for writes in progress; same filesystem as the objects, so rename is atomic. */
  readonly tmpDir: string;
  /** Sidecars: one folder per key, one file per version of the object's bytes. */
  readonly metaDir: string;

  constructor(realRoot: string) {
    this.root = realRoot;
    this.tmpDir = join(realRoot, RESERVED_DIR, "tmp");
    this.metaDir = join(realRoot, RESERVED_DIR, "meta");
  }

  /** Absolute path of the object file; the key is already valid, so this is purely lexical. */
  objectPath(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  /**
   * The sidecar folder of a key, named by the key's hash: keys can be 1024 bytes with
   * 255-byte segments, which no suffix could be added to without breaking NAME_MAX.
   */
  sidecarDir(key: string): string {
    const digest = createHash("sha256").update(key).digest("hex");
    return join(this.metaDir, digest.slice(0, 2), digest);
  }

  sidecarPath(key: string, version: string): string {
    return join(this.sidecarDir(key), `${version}.json`);
  }
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

export function fileVersion(stats: { size: bigint; mtimeNs: bigint }): FileVersion {
  return { size: Number(stats.size), mtimeMs: Number(stats.mtimeNs / 1_000_000n) };
}

export function versionName(version: FileVersion): string {
  return `${version.size.toString(36)}-${version.mtimeMs.toString(36)}`;
}

export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs;
}
