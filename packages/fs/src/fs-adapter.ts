import { randomUUID, createHash } from "node:crypto";
import { constants, type BigIntStats } from "node:fs";
import {
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
  writeFile,
  type FileHandle,
} from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { addAbortSignal, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  BaseAdapter,
  resolveFinalMetadata,
  resolveRange,
  StorageError,
  type ByteRange,
  type ListEntry,
  type NormalizedWriteOptions,
  type ObjectInfo,
  type ReadResult,
  type StorageErrorCode,
} from "@mediagate/core";
import { classifyFsError } from "./fs-errors.ts";
import { fileVersion, Layout, sameVersion, versionName, type FileVersion } from "./layout.ts";
import { ensureDirInside, escapeError, isInside, realInside } from "./paths.ts";
import { publishSidecar, readAllSidecars, readSidecar, type Sidecar } from "./sidecar.ts";
import { walkObjects } from "./walk.ts";

export interface FsAdapterOptions {
  /** The folder objects are stored in. */
  root: string;
  /**
   * Create the root (and its parents) when it is missing. Off by default, so a mistyped
   * path fails `check()` with NotFound instead of quietly filling a new folder.
   */
  createRoot?: boolean;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

/** Attempts at giving a new version an identity distinct from the one it replaces. */
const MAX_VERSION_ATTEMPTS = 5;
/** Attempts at the final rename when a concurrent delete prunes the parent folder meanwhile. */
const MAX_RENAME_ATTEMPTS = 20;
/** Attempts at reading an object that overwrites keep replacing under the reader. */
const MAX_DESCRIBE_ATTEMPTS = 5;

/**
 * Stores objects as files under a root folder.
 *
 * Writes stream into a temp file in the reserved `.mediagate/tmp` folder (same filesystem),
 * fsync it, and rename it onto the key's path: an object is either absent or complete,
 * never half-written, even across a crash.
 *
 * Content type, disposition, metadata and etag live in a sidecar under
 * `.mediagate/meta/<hash of key>/<version>.json`, where the version is the data file's size
 * and mtime (ms). Two files cannot be swapped in one atomic step, so instead of ordering two
 * renames and hoping, each sidecar is bound to the exact bytes it describes: a reader
 * fstat()s the file it opened and loads the sidecar of *that* version. The new sidecar is
 * published before the data rename (the commit point) and the old one removed after it, so
 * a reader racing a write gets old bytes with old metadata or new bytes with new metadata,
 * never a mix (one that finds its version's sidecar already gone starts again on the new
 * file); a crash between the steps leaves only an unused sidecar, never a wrong one.
 * Size + mtime, unlike the inode, survive `cp -a`, `rsync -a` and tar, so a restored backup
 * keeps its metadata. A write whose file would get the same identity as the version it
 * replaces (same size, same millisecond) moves its mtime on first. Files without a sidecar
 * (copied in by hand) are served as application/octet-stream with an identity-based etag.
 */
export class FsAdapter extends BaseAdapter {
  readonly name = "fs";
  /** The root as given, made absolute. */
  readonly root: string;
  private readonly createRoot: boolean;
  private layoutPromise: Promise<Layout> | undefined;

  constructor(options: FsAdapterOptions) {
    super();
    if (typeof options?.root !== "string" || options.root.trim() === "") {
      throw new StorageError("InvalidArgument", "FsAdapter needs a root folder.", {
        operation: "configure",
      });
    }
    this.root = resolve(options.root);
    this.createRoot = options.createRoot ?? false;
  }

  protected override classifyError(err: unknown): StorageErrorCode | undefined {
    return classifyFsError(err);
  }

  /**
   * Removes temp files older than `olderThanMs` left by a process that crashed mid-write
   * (a live write never leaves one behind). Returns how many were removed.
   */
  async removeStaleTempFiles(olderThanMs = 24 * 60 * 60 * 1000): Promise<number> {
    const layout = await this.layout();
    let names: string[];
    try {
      names = await readdir(layout.tmpDir);
    } catch (err) {
      if (errno(err) === "ENOENT") return 0;
      throw this.translate(err, "removeStaleTempFiles");
    }
    let removed = 0;
    for (const name of names) {
      const path = join(layout.tmpDir, name);
      const stats = await lstat(path).catch(() => undefined);
      if (stats?.isFile() && Date.now() - stats.mtimeMs >= olderThanMs) {
        await unlink(path).then(
          () => removed++,
          () => undefined,
        );
      }
    }
    return removed;
  }

  protected async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    const { signal } = options;
    const layout = await this.layout();
    const tmpDir = await ensureDirInside(layout.root, layout.tmpDir, "write", key);
    const tmpName = randomUUID();
    const tmpPath = join(tmpDir, tmpName);
    let publishedSidecar: string | undefined;
    let committed = false;
    try {
      const etag = await streamToFile(body, tmpPath, signal, options.contentLength, key);
      signal.throwIfAborted();

      const described = {
        key,
        etag,
        contentType: options.contentType,
        ...(options.contentDisposition === undefined
          ? {}
          : { contentDisposition: options.contentDisposition }),
        // The sidecar is written after the data anyway: it carries what the body revealed.
        metadata: resolveFinalMetadata(options, key),
      };
      const target = await this.objectTarget(layout, key);
      const previous = await versionAt(target);
      const { sidecar, stats } = await this.publishMetadata(
        layout,
        described,
        tmpPath,
        tmpName,
        previous,
      );
      publishedSidecar = layout.sidecarPath(key, versionName(sidecar));
      signal.throwIfAborted();

      const parent = await this.commit(layout, key, tmpPath);
      committed = true;
      await fsyncDir(parent);
      if (previous !== undefined) {
        await unlink(layout.sidecarPath(key, versionName(previous))).catch(() => undefined);
      }
      return infoFrom(key, stats, sidecar);
    } catch (err) {
      if (!committed) {
        await rm(tmpPath, { force: true }).catch(() => undefined);
        if (publishedSidecar) await rm(publishedSidecar, { force: true }).catch(() => undefined);
      }
      throw this.writeError(err, key);
    }
  }

  protected async readObject(
    key: string,
    options: { range: ByteRange | undefined; signal: AbortSignal | undefined },
  ): Promise<ReadResult> {
    options.signal?.throwIfAborted();
    const layout = await this.layout();
    for (let attempt = 1; ; attempt++) {
      const handle = await this.openObject(layout, key);
      try {
        const stats = await handle.stat({ bigint: true });
        if (!stats.isFile()) throw notFound("read", key);
        const info = await this.describe(layout, key, stats, attempt < MAX_DESCRIBE_ATTEMPTS);
        if (!info) {
          await handle.close();
          continue;
        }
        const range = options.range ? resolveRange(options.range, info.size, key) : undefined;
        const body = handle.createReadStream(range ? { start: range.start, end: range.end } : {});
        if (options.signal) addAbortSignal(options.signal, body);
        return range ? { info, body, range } : { info, body };
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
    }
  }

  protected async statObject(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    signal?.throwIfAborted();
    const layout = await this.layout();
    for (let attempt = 1; ; attempt++) {
      const real = await this.existingObjectPath(layout, key, "stat");
      const stats = await stat(real, { bigint: true });
      if (!stats.isFile()) throw notFound("stat", key);
      const info = await this.describe(layout, key, stats, attempt < MAX_DESCRIBE_ATTEMPTS);
      if (info) return info;
    }
  }

  protected async deleteObject(key: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const layout = await this.layout();
    const path = layout.objectPath(key);
    // The parent is resolved and checked: unlinking through a symlinked folder would delete
    // a file outside the root.
    const parent = await realInside(layout.root, dirname(path), "delete", key);
    assertNotReserved(layout, parent, "delete", key);
    try {
      await unlink(join(parent, basename(path)));
    } catch (err) {
      if (errno(err) === "ENOENT") {
        // Gone already; still drop a sidecar a crashed writer may have left.
        await rm(layout.sidecarDir(key), { recursive: true, force: true }).catch(() => undefined);
      }
      // A folder of other objects is not an object: there is nothing to delete.
      if (errno(err) === "EISDIR" || errno(err) === "EPERM") {
        const isDir = await lstat(join(parent, basename(path))).then(
          (s) => s.isDirectory(),
          () => false,
        );
        if (isDir) throw notFound("delete", key);
      }
      throw err;
    }
    // The object is gone from here on; bookkeeping failures must not turn that into an error.
    await rm(layout.sidecarDir(key), { recursive: true, force: true }).catch(() => undefined);
    await rmdir(dirname(layout.sidecarDir(key))).catch(() => undefined); // its fan-out folder, if emptied
    await pruneEmptyFolders(layout.root, parent);
  }

  protected async *listObjects(
    prefix: string,
    options: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry> {
    // pageSize means nothing to a directory walk: each folder is read when reached.
    const layout = await this.layout();
    const cut = prefix.lastIndexOf("/");
    const dirKey = prefix.slice(0, cut + 1);
    const namePrefix = prefix.slice(cut + 1);
    const dir = dirKey === "" ? layout.root : layout.objectPath(dirKey.slice(0, -1));
    let real: string;
    try {
      real = await realInside(layout.root, dir, "list", prefix);
    } catch (err) {
      if (errno(err) === "ENOENT" || errno(err) === "ENOTDIR") return;
      throw err;
    }
    assertNotReserved(layout, real, "list", prefix);
    yield* walkObjects(real, dirKey, namePrefix, options.signal);
  }

  protected async checkBackend(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    // Re-resolved on every check: the probe must see a root that vanished or was replaced.
    this.layoutPromise = undefined;
    const layout = await this.layout();
    const tmpDir = await ensureDirInside(layout.root, layout.tmpDir, "check");
    const probe = join(tmpDir, `check-${randomUUID()}`);
    await writeFile(probe, "", { flag: "wx" });
    await unlink(probe);
  }

  private layout(): Promise<Layout> {
    // Only success is cached, so a root created (or fixed) later is picked up.
    this.layoutPromise ??= this.openRoot().catch((err: unknown) => {
      this.layoutPromise = undefined;
      throw err;
    });
    return this.layoutPromise;
  }

  private async openRoot(): Promise<Layout> {
    if (this.createRoot) await mkdir(this.root, { recursive: true });
    let real: string;
    try {
      real = await realpath(this.root);
    } catch (err) {
      if (errno(err) === "ENOENT" || errno(err) === "ENOTDIR") {
        throw new StorageError("NotFound", `The storage folder ${this.root} does not exist.`, {
          operation: "open",
          cause: err,
        });
      }
      throw err;
    }
    if (!(await stat(real)).isDirectory()) {
      throw new StorageError("NotFound", `The storage root ${this.root} is not a folder.`, {
        operation: "open",
      });
    }
    return new Layout(real);
  }

  /** The real path of an existing object, proven inside the root and outside bookkeeping. */
  private async existingObjectPath(
    layout: Layout,
    key: string,
    operation: string,
  ): Promise<string> {
    const real = await realInside(layout.root, layout.objectPath(key), operation, key);
    assertNotReserved(layout, real, operation, key);
    return real;
  }

  /** Where the key's file goes: its parent created inside the root, the name appended. */
  private async objectTarget(layout: Layout, key: string): Promise<string> {
    const path = layout.objectPath(key);
    const parent = await ensureDirInside(layout.root, dirname(path), "write", key);
    assertNotReserved(layout, parent, "write", key);
    return join(parent, basename(path));
  }

  /**
   * Publishes the sidecar for the temp file's version, first making sure that version
   * differs from the one being replaced and from any sidecar already stored.
   */
  private async publishMetadata(
    layout: Layout,
    described: Omit<Sidecar, "size" | "mtimeMs">,
    tmpPath: string,
    tmpName: string,
    previous: FileVersion | undefined,
  ): Promise<{ sidecar: Sidecar; stats: BigIntStats }> {
    const { key } = described;
    const dir = await ensureDirInside(layout.root, layout.sidecarDir(key), "write", key);
    for (let attempt = 1; ; attempt++) {
      const stats = await stat(tmpPath, { bigint: true });
      const sidecar: Sidecar = { ...described, ...fileVersion(stats) };
      if (
        !(previous && sameVersion(previous, sidecar)) &&
        (await publishSidecar(
          sidecar,
          dirname(tmpPath),
          tmpName,
          join(dir, `${versionName(sidecar)}.json`),
        ))
      ) {
        return { sidecar, stats };
      }
      if (attempt >= MAX_VERSION_ATTEMPTS) {
        throw new StorageError(
          "Unavailable",
          "Could not give the new version a distinct identity.",
          {
            operation: "write",
            key,
          },
        );
      }
      const later = new Date(sidecar.mtimeMs + attempt);
      await utimes(tmpPath, later, later);
    }
  }

  /** Renames the temp file onto the key (the commit point); returns the real parent folder. */
  private async commit(layout: Layout, key: string, tmpPath: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const target = await this.objectTarget(layout, key);
      try {
        await rename(tmpPath, target);
        return dirname(target);
      } catch (err) {
        // A delete pruned the freshly emptied parent between mkdir and rename: make it again.
        if (errno(err) !== "ENOENT" || attempt >= MAX_RENAME_ATTEMPTS) throw err;
      }
    }
  }

  /** Opens the object's file for reading, after proving where its path leads. */
  private async openObject(layout: Layout, key: string): Promise<FileHandle> {
    const real = await this.existingObjectPath(layout, key, "read");
    try {
      // The path is real (no symlinks); O_NOFOLLOW refuses one swapped in since the check.
      return await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (errno(err) === "ELOOP") throw escapeError("read", key);
      throw err;
    }
  }

  /**
   * The info of the version in `stats`, from the sidecar bound to it. Undefined (when
   * `mayRetry`) if there is none because a write replaced the file after it was opened and
   * removed its sidecar: the caller then starts again on the new version.
   */
  private async describe(
    layout: Layout,
    key: string,
    stats: BigIntStats,
    mayRetry: boolean,
  ): Promise<ObjectInfo | undefined> {
    const version = fileVersion(stats);
    const exact = await readSidecar(layout.sidecarPath(key, versionName(version)), key);
    if (exact && sameVersion(exact, version)) return infoFrom(key, stats, exact);
    if (mayRetry) {
      const now = await versionAt(layout.objectPath(key)).catch(() => undefined);
      if (!now || !sameVersion(now, version)) return undefined;
    }
    const restored = await this.restoredSidecar(layout, key, version);
    if (restored) return infoFrom(key, stats, restored);
    return infoFrom(key, stats, {
      key,
      ...version,
      etag: versionName(version),
      contentType: "application/octet-stream",
      metadata: {},
    });
  }

  /**
   * A file whose exact sidecar is missing although no write replaced it was copied: copies
   * that "preserve timestamps" round them (Node's fs.cp goes through floating-point
   * seconds, tar's default format keeps whole seconds). Match it to the one sidecar of the
   * same size whose mtime is within a millisecond, or in the same second when the file's
   * mtime is a whole second. Only reached when the file at the key is still the one opened,
   * so an in-flight write's sidecar is never mistaken for this one's in practice.
   */
  private async restoredSidecar(
    layout: Layout,
    key: string,
    version: FileVersion,
  ): Promise<Sidecar | undefined> {
    const wholeSecond = version.mtimeMs % 1000 === 0;
    const candidates = (await readAllSidecars(layout.sidecarDir(key), key)).filter(
      (s) =>
        s.size === version.size &&
        (Math.abs(s.mtimeMs - version.mtimeMs) <= 1 ||
          (wholeSecond && Math.floor(s.mtimeMs / 1000) === version.mtimeMs / 1000)),
    );
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /** Errors only a write can meet: the key's path is taken by a folder or crosses a file. */
  private writeError(err: unknown, key: string): unknown {
    const code = errno(err);
    if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") {
      return new StorageError(
        "Unsupported",
        `write "${key}": a folder cannot hold an object and other objects under the same name (${code}).`,
        { operation: "write", key, cause: err },
      );
    }
    return err;
  }
}

/** Streams the body into a new file, fsyncs it, and returns the bytes' md5 (the etag). */
async function streamToFile(
  body: Readable,
  path: string,
  signal: AbortSignal,
  contentLength: number | undefined,
  key: string,
): Promise<string> {
  const hash = createHash("md5");
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // Opened here rather than by the stream, so the file exists (and is ours to remove)
  // before any abort can race the open. The stream owns the handle from here on: it
  // fsyncs (`flush`) and closes it on success, and closes it when destroyed on failure.
  const handle = await open(path, "wx", 0o644);
  const file = handle.createWriteStream({ flush: true });
  try {
    await pipeline(body, meter, file, { signal });
  } catch (err) {
    if (!file.closed) await new Promise<void>((done) => file.once("close", () => done()));
    throw err;
  }
  if (contentLength !== undefined && bytes !== contentLength) {
    throw new StorageError(
      "InvalidArgument",
      `write "${key}": the body had ${bytes} bytes but contentLength said ${contentLength}.`,
      { operation: "write", key },
    );
  }
  return hash.digest("hex");
}

function infoFrom(key: string, stats: BigIntStats, sidecar: Sidecar): ObjectInfo {
  return {
    key,
    size: Number(stats.size),
    contentType: sidecar.contentType,
    ...(sidecar.contentDisposition === undefined
      ? {}
      : { contentDisposition: sidecar.contentDisposition }),
    etag: sidecar.etag,
    lastModified: new Date(fileVersion(stats).mtimeMs),
    metadata: { ...sidecar.metadata },
  };
}

/** The version of the file at `path`, or undefined when there is none. */
async function versionAt(path: string): Promise<FileVersion | undefined> {
  try {
    const stats = await lstat(path, { bigint: true });
    return stats.isFile() ? fileVersion(stats) : undefined;
  } catch (err) {
    if (errno(err) === "ENOENT") return undefined;
    throw err;
  }
}

/** Makes a rename durable: the new directory entry is only on disk once its folder is synced. */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes `dir` and its ancestors while they are empty, stopping at (never removing) root. */
async function pruneEmptyFolders(root: string, dir: string): Promise<void> {
  for (let current = dir; current !== root && isInside(root, current); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return; // Not empty (or already gone): its ancestors are not empty either.
    }
  }
}

/** Refuses paths that resolve into the adapter's own bookkeeping (via a symlink). */
function assertNotReserved(layout: Layout, real: string, operation: string, key: string): void {
  const rel = relative(layout.root, real);
  if (rel !== "" && rel.split(sep).some((segment) => segment.startsWith("."))) {
    throw escapeError(operation, key);
  }
}

function notFound(operation: string, key: string): StorageError {
  return new StorageError("NotFound", `${operation} "${key}": no such object.`, { operation, key });
}
