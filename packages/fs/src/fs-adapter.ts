import { randomUUID } from "node:crypto";
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
import { addAbortSignal, Writable, type Readable } from "node:stream";
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
import { ensureDirInside, escapeError, fsyncDir, isInside, realInside, syncFile } from "./paths.ts";
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
  /**
   * fsync each object's data, sidecar, and the folders naming them (new folders included)
   * before its write resolves (default), so a stored upload survives a power loss or kernel
   * crash. Off, writes are as durable as the page cache: still atomic (a crashed process
   * never leaves a half-written object), but the last seconds of uploads can vanish with the
   * machine.
   */
  durable?: boolean;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

/** Attempts at giving a new version an identity distinct from the one it replaces. */
const MAX_VERSION_ATTEMPTS = 5;
/** Key folders whose real paths are remembered (see FsAdapter.keyFolders). */
const KEY_FOLDERS_KNOWN = 256;
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
 * Content type, disposition and metadata live in a sidecar under
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
 * replaces (same size, same millisecond) moves its mtime on first, so the version also
 * serves as the etag: distinct for every write, with no digest of the bytes to compute.
 * Files without a sidecar (copied in by hand) are served as application/octet-stream.
 */
export class FsAdapter extends BaseAdapter {
  readonly name = "fs";
  /** The root as given, made absolute. */
  readonly root: string;
  private readonly createRoot: boolean;
  /** Whether writes are fsynced before they resolve (see FsAdapterOptions.durable). */
  readonly durable: boolean;
  private layoutPromise: Promise<Layout> | undefined;
  /** The temp folder's real path, for the layout it was resolved in. */
  private tmpDir: { layout: Layout; real: Promise<string> } | undefined;
  /**
   * Real paths of the sidecar fan-out folders (`meta/<xx>`, 256 at most) already proven to
   * lie inside the root, for the layout they were resolved in.
   */
  private fanOuts: { layout: Layout; real: Map<string, Promise<string>> } | undefined;
  /**
   * Real paths of key folders (the gateway's date folders) already made and proven inside
   * the root, newest KEY_FOLDERS_KNOWN of them: every write would otherwise resolve its
   * folder again, a thread-pool round trip and a readlink per path component.
   */
  private keyFolders: { layout: Layout; real: Map<string, Promise<string>> } | undefined;

  constructor(options: FsAdapterOptions) {
    super();
    if (typeof options?.root !== "string" || options.root.trim() === "") {
      throw new StorageError("InvalidArgument", "FsAdapter needs a root folder.", {
        operation: "configure",
      });
    }
    this.root = resolve(options.root);
    this.createRoot = options.createRoot ?? false;
    this.durable = options.durable ?? true;
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
    const temp = await this.openTemp(layout);
    let open = true;
    const closeTemp = async () => {
      if (!open) return;
      open = false;
      await temp.handle.close();
    };
    let publishedSidecar: string | undefined;
    let committed = false;
    // Made ready once the body has ended (a process killed while streaming leaves only its
    // temp file), alongside the data's fsync: a small upload's latency is a chain of
    // filesystem round trips, so the independent ones overlap.
    let target: Promise<string> | undefined;
    let sidecarDir: Promise<string> | undefined;
    try {
      await streamToFile(body, temp.handle, signal, options.contentLength, key);
      signal.throwIfAborted();
      target = quiet(this.objectTarget(layout, key));
      sidecarDir = quiet(this.sidecarFolder(layout, key));
      // The key's sidecar folder is new on a first write: its entry is synced while the
      // sidecar is written (on an overwrite too: cheaper than finding out).
      const folderDurable = quiet(
        this.durable ? sidecarDir.then((dir) => fsyncDir(dirname(dir))) : Promise.resolve(),
      );
      const dataSynced = quiet(this.durable ? temp.handle.sync() : Promise.resolve());
      const stats = await temp.handle.stat({ bigint: true });
      // The sidecar is written while the data is synced: both finish before the rename.
      const dataDone = quiet(dataSynced.then(closeTemp));

      const described = {
        key,
        contentType: options.contentType,
        ...(options.contentDisposition === undefined
          ? {}
          : { contentDisposition: options.contentDisposition }),
        // The sidecar is written after the data anyway: it carries what the body revealed.
        metadata: resolveFinalMetadata(options, key),
      };
      const targetPath = await target;
      const previous = await versionAt(targetPath);
      const published = await this.publishMetadata(
        layout,
        described,
        await sidecarDir,
        temp.path,
        stats,
        previous,
        dataDone,
      );
      sidecarDir = Promise.resolve(published.dir);
      publishedSidecar = join(published.dir, `${versionName(published.sidecar)}.json`);
      // All durable before the rename: a committed object never outlives its metadata in a
      // power loss.
      await dataDone;
      await folderDurable;
      signal.throwIfAborted();

      const parent = await this.commit(layout, key, temp.path, targetPath);
      committed = true;
      if (this.durable) await fsyncDir(parent);
      if (previous !== undefined) {
        await unlink(layout.sidecarPath(key, versionName(previous))).catch(() => undefined);
      }
      return infoFrom(key, published.stats, published.sidecar);
    } catch (err) {
      if (!committed) {
        await closeTemp().catch(() => undefined);
        await rm(temp.path, { force: true }).catch(() => undefined);
        if (publishedSidecar) await rm(publishedSidecar, { force: true }).catch(() => undefined);
        await removeIfEmpty(layout.root, target, sidecarDir);
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

  /**
   * Where the key's file goes: its parent created inside the root, the name appended. A
   * folder already proven is remembered; `fresh` resolves it again (a delete pruned it).
   */
  private async objectTarget(layout: Layout, key: string, fresh = false): Promise<string> {
    const path = layout.objectPath(key);
    const folder = dirname(path);
    if (this.keyFolders?.layout !== layout) this.keyFolders = { layout, real: new Map() };
    const known = this.keyFolders.real;
    let real = fresh ? undefined : known.get(folder);
    if (!real) {
      const resolving = ensureDirInside(layout.root, folder, "write", key, {
        durable: this.durable,
      }).then((parent) => {
        assertNotReserved(layout, parent, "write", key);
        return parent;
      });
      known.delete(folder);
      if (known.size >= KEY_FOLDERS_KNOWN) known.delete(known.keys().next().value as string);
      known.set(folder, resolving);
      resolving.catch(() => {
        if (known.get(folder) === resolving) known.delete(folder);
      });
      real = resolving;
    }
    return join(await real, basename(path));
  }

  /**
   * Publishes the sidecar for the temp file's version, first making sure that version
   * differs from the one being replaced and from any sidecar already stored. `dataDone`
   * settles once the temp file is synced and closed; its mtime may only be moved after that.
   */
  private async publishMetadata(
    layout: Layout,
    described: Omit<Sidecar, "size" | "mtimeMs" | "etag">,
    folder: string,
    tmpPath: string,
    written: BigIntStats,
    previous: FileVersion | undefined,
    dataDone: Promise<void>,
  ): Promise<{ sidecar: Sidecar; stats: BigIntStats; dir: string }> {
    const { key } = described;
    let stats = written;
    let dir = folder;
    for (let attempt = 1; ; attempt++) {
      const version = fileVersion(stats);
      const sidecar: Sidecar = { ...described, ...version, etag: versionName(version) };
      if (!(previous && sameVersion(previous, sidecar))) {
        let published: boolean;
        try {
          published = await publishSidecar(
            sidecar,
            join(dir, `${versionName(sidecar)}.json`),
            this.durable,
          );
        } catch (err) {
          // A failed write of the same key removed the folder while it was still empty
          // (removeIfEmpty): make it again.
          if (errno(err) !== "ENOENT" || attempt >= MAX_VERSION_ATTEMPTS) throw err;
          dir = await this.sidecarFolder(layout, key);
          if (this.durable) await fsyncDir(dirname(dir));
          continue;
        }
        if (published) return { sidecar, stats, dir };
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
      // Rare: same size, same millisecond as a version already described. Move the mtime on.
      await dataDone;
      const later = new Date(sidecar.mtimeMs + attempt);
      await utimes(tmpPath, later, later);
      if (this.durable) await syncFile(tmpPath);
      stats = await stat(tmpPath, { bigint: true });
    }
  }

  /**
   * Makes the key's sidecar folder and returns its real path. The fan-out folder above it
   * was proven inside the root once and is remembered, so a new key costs one mkdir: a
   * folder mkdir has just created cannot be a symlink. One that exists already (the key is
   * being overwritten) is resolved and checked as usual.
   */
  private async sidecarFolder(layout: Layout, key: string): Promise<string> {
    const dir = layout.sidecarDir(key);
    const fanOut = dirname(dir);
    if (this.fanOuts?.layout !== layout) this.fanOuts = { layout, real: new Map() };
    const known = this.fanOuts.real;
    for (let attempt = 1; ; attempt++) {
      let real = known.get(fanOut);
      if (!real) {
        real = ensureDirInside(layout.root, fanOut, "write", key, { durable: this.durable });
        known.set(fanOut, real);
        real.catch(() => known.delete(fanOut));
      }
      const target = join(await real, basename(dir));
      try {
        await mkdir(target);
        return target;
      } catch (err) {
        if (errno(err) === "EEXIST") return realInside(layout.root, target, "write", key);
        // A delete pruned the emptied fan-out folder since it was checked: make it again.
        if (errno(err) !== "ENOENT" || attempt >= MAX_RENAME_ATTEMPTS) throw err;
        known.delete(fanOut);
      }
    }
  }

  /**
   * Opens a new temp file for a write. The temp folder's real path is resolved once and
   * remembered; if the folder has gone (a swept or remounted volume), it is made again.
   */
  private async openTemp(layout: Layout): Promise<{ handle: FileHandle; path: string }> {
    for (let attempt = 1; ; attempt++) {
      if (this.tmpDir?.layout !== layout) {
        this.tmpDir = {
          layout,
          real: ensureDirInside(layout.root, layout.tmpDir, "write").catch((err: unknown) => {
            this.tmpDir = undefined;
            throw err;
          }),
        };
      }
      const path = join(await this.tmpDir.real, randomUUID());
      try {
        // Opened here rather than by a stream, so the file exists (and is ours to remove)
        // before any abort can race the open.
        return { handle: await open(path, "wx", 0o644), path };
      } catch (err) {
        if (errno(err) !== "ENOENT" || attempt >= 2) throw err;
        this.tmpDir = undefined;
      }
    }
  }

  /**
   * Renames the temp file onto the key (the commit point); returns the real parent folder.
   * `target` was resolved earlier; if a delete pruned its folder meanwhile, it is made again.
   */
  private async commit(
    layout: Layout,
    key: string,
    tmpPath: string,
    target: string,
  ): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        await rename(tmpPath, target);
        return dirname(target);
      } catch (err) {
        if (errno(err) !== "ENOENT" || attempt >= MAX_RENAME_ATTEMPTS) throw err;
      }
      target = await this.objectTarget(layout, key, true);
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

/**
 * Streams the body into the open temp file, leaving it open (the caller syncs and closes
 * it). Nothing hashes the bytes: the etag names the file's version, which every write
 * makes distinct (see publishMetadata), so a busy gateway spends no CPU on a digest here.
 */
async function streamToFile(
  body: Readable,
  handle: FileHandle,
  signal: AbortSignal,
  contentLength: number | undefined,
  key: string,
): Promise<void> {
  const sink = new HandleSink(handle);
  await pipeline(body, sink, { signal });
  if (contentLength !== undefined && sink.bytes !== contentLength) {
    throw new StorageError(
      "InvalidArgument",
      `write "${key}": the body had ${sink.bytes} bytes but contentLength said ${contentLength}.`,
      { operation: "write", key },
    );
  }
}

/**
 * Bytes gathered before they are written: each write is a round trip through libuv's thread
 * pool that costs the event loop about as much as hashing 50 KiB, and a request's chunks
 * arrive at most 64 KiB at a time. Gathering cuts those round trips eightfold on a fast
 * upload, for at most about three times this much per upload: the batch being written, an
 * earlier partial one still on its way, and the stream's own buffer of the same size.
 */
const WRITE_BATCH_BYTES = 512 * 1024;
/** A batch not yet full is written once the body has been quiet this long. */
const IDLE_FLUSH_MS = 2;

/**
 * Writes into a FileHandle it does not own (fs.WriteStream on a handle closes it when it
 * ends, or keeps it referenced so it cannot be closed): the write path still has to stat,
 * sync and close the file itself. Chunks are gathered into writes of WRITE_BATCH_BYTES, or
 * written as they are when the body pauses (a slow client's bytes do not wait in memory).
 */
class HandleSink extends Writable {
  readonly #handle: FileHandle;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The last write started: writes go out one after another, in order. */
  #writing: Promise<void> = Promise.resolve();
  #idle: NodeJS.Timeout | undefined;
  /** Bytes taken so far. */
  bytes = 0;

  constructor(handle: FileHandle) {
    super({ highWaterMark: WRITE_BATCH_BYTES });
    this.#handle = handle;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void) {
    this.#take(chunk);
    this.#afterTaking(done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) this.#take(chunk);
    this.#afterTaking(done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#flush().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    clearTimeout(this.#idle);
    done(err);
  }

  #take(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
  }

  #afterTaking(done: (err?: Error | null) => void): void {
    if (this.#pendingBytes >= WRITE_BATCH_BYTES) {
      // Full: the body waits for this write (backpressure), so memory stays bounded.
      this.#flush().then(() => done(), done);
      return;
    }
    done();
    this.#idle ??= setTimeout(() => {
      this.#idle = undefined;
      this.#flush().catch((err: unknown) => this.destroy(err as Error));
    }, IDLE_FLUSH_MS);
  }

  /** Writes what is pending after the writes already started; resolves once it is written. */
  #flush(): Promise<void> {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    const buffers = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const written = this.#writing.then(() =>
      buffers.length > 0 ? writeAll(this.#handle, buffers) : undefined,
    );
    // A failed write fails the stream through whoever awaits it; the chain itself goes on.
    this.#writing = written.catch(() => undefined);
    return written;
  }
}

/** writev until every byte is written (a regular file may take a write only in part). */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    pending = rest;
  }
}

/** A promise whose rejection is handled by whoever awaits it later, not reported as unhandled. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
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

/**
 * After a failed write, the folders made ready for it, if nothing else uses them: the key's
 * sidecar folder (rmdir leaves a non-empty one alone; a concurrent write of the same key that
 * has not published its sidecar yet finds it gone and makes it again) and the object's parent
 * folders (a concurrent write into one finds it gone at its rename and makes it again).
 */
async function removeIfEmpty(
  root: string,
  target: Promise<string> | undefined,
  sidecarDir: Promise<string> | undefined,
): Promise<void> {
  const dir = await sidecarDir?.catch(() => undefined);
  if (dir) await rmdir(dir).catch(() => undefined);
  const path = await target?.catch(() => undefined);
  if (path) await pruneEmptyFolders(root, dirname(path));
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
