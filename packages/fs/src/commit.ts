import { unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  resolveFinalMetadata,
  StorageError,
  toStorageError,
  type NormalizedWriteOptions,
  type ObjectInfo,
} from "@mediagate/core";
import type { DirSyncer } from "./dir-sync.ts";
import type { FolderCache } from "./folder-cache.ts";
import { classifyFsError } from "./fs-errors.ts";
import { fsyncFd, poolIo, type Io } from "./io.ts";
import {
  fileVersion,
  sameVersion,
  sidecarName,
  versionName,
  type FileVersion,
  type Layout,
} from "./layout.ts";
import { publishSidecar, serializeSidecar, type Sidecar } from "./sidecar.ts";
import { BodySink, type TempFile } from "./sink.ts";
import { stampSeconds, type TempArea } from "./temp-area.ts";
import { dropSidecarsOf, pruneEmptyFolders } from "./tidy.ts";

/**
 * The points of a commit a crash can fall between (see `FsAdapterOptions.onCommitStep`):
 * - `temp-written`: the whole body is in the temp file, stamped with its version;
 * - `sidecar-published`: the version's sidecar exists (durable: it, its folder entry and the
 *   data are synced); the object is still under its temp name;
 * - `renamed`: the object is at its key (durable: its folder not yet synced), the replaced
 *   version's sidecar not yet removed;
 * - `done`: nothing is left to do.
 */
export type CommitStep = "temp-written" | "sidecar-published" | "renamed" | "done";

/** Bodies up to this size are committed with inline calls (see io.ts): copying them is cheap. */
export const INLINE_MAX_BYTES = 64 * 1024;
/** Attempts at a version no sidecar describes yet (same size, same millisecond). */
const MAX_VERSION_ATTEMPTS = 5;
/** Attempts when a concurrent delete prunes a folder a write has just been given. */
const MAX_FOLDER_ATTEMPTS = 20;

export interface CommitContext {
  layout: Layout;
  durable: boolean;
  keyFolders: FolderCache;
  sidecarFolders: FolderCache;
  dirSync: DirSyncer;
  /** Inline calls while they are cheap, else the thread pool. */
  io(): Io;
  tempArea(): Promise<TempArea>;
  /** A new temp file (recorded in `owned`); made again if its folder vanished. */
  createTemp(io: Io): Promise<TempFile>;
  /** Temp files and sidecars of this process's writes in progress: the sweep leaves them. */
  owned: Set<string>;
  onStep: ((step: CommitStep, key: string) => void) | undefined;
}

type Described = Omit<Sidecar, "size" | "mtimeMs" | "etag">;

/**
 * Streams `body` into a temp file and commits it under `key` with its metadata: the temp
 * file is stamped with a version no sidecar describes yet, that version's sidecar is
 * published (O_EXCL), and the file renamed onto the key (the commit point). A crash at any
 * point leaves either the old state plus debris the sweep removes (a temp file, a sidecar
 * no file's version matches) or the new object with its metadata. No call on this path
 * throws on the way to a normal commit: missing entries are looked up, not caught.
 */
export async function commitWrite(
  ctx: CommitContext,
  key: string,
  body: Readable,
  options: NormalizedWriteOptions,
): Promise<ObjectInfo> {
  const { layout, durable } = ctx;
  const { signal } = options;
  const sink = new BodySink(() => ctx.createTemp(poolIo));
  let temp: TempFile | undefined;
  let tempOpen = false;
  let sidecarPath: string | undefined;
  let committed = false;
  let folders: { object: string; sidecars: string } | undefined;
  try {
    await pipeline(body, sink, { signal }).catch((err: unknown) => {
      // The filesystem's own failure (a full disk) destroys the body too: reported as what
      // it is, not as the body's failure or an abort.
      if (sink.failure === undefined) throw err;
      throw toStorageError(sink.failure, { operation: "write", key, classify: classifyFsError });
    });
    if (options.contentLength !== undefined && sink.bytes !== options.contentLength) {
      throw new StorageError(
        "InvalidArgument",
        `write "${key}": the body had ${sink.bytes} bytes but contentLength said ${options.contentLength}.`,
        { operation: "write", key },
      );
    }
    signal.throwIfAborted();
    const described: Described = {
      key,
      contentType: options.contentType,
      ...(options.contentDisposition === undefined
        ? {}
        : { contentDisposition: options.contentDisposition }),
      // The sidecar is written after the body: it carries what the body revealed.
      metadata: resolveFinalMetadata(options, key),
    };
    const gathered = sink.gathered();
    const io = gathered && sink.bytes <= INLINE_MAX_BYTES ? ctx.io() : poolIo;
    temp = gathered ? await ctx.createTemp(io) : await sink.opened;
    if (!temp) throw new Error("the body sink ended without a temp file");
    tempOpen = true;
    if (gathered && gathered.length > 0) await io.writeAll(temp.fd, gathered);
    const [area, objectFolder, sidecarFolder] = await Promise.all([
      ctx.tempArea(),
      ctx.keyFolders.get(dirname(layout.objectPath(key)), "write", key),
      ctx.sidecarFolders.get(layout.sidecarFolder(key), "write", key),
    ]);
    folders = { object: objectFolder, sidecars: sidecarFolder };
    const previousStats = await io.lstat(join(objectFolder, basename(key)));
    const previous = previousStats?.isFile() ? fileVersion(previousStats) : undefined;

    let version: FileVersion = { size: sink.bytes, mtimeMs: Date.now() };
    if (previous && sameVersion(previous, version)) version.mtimeMs += 1;
    let dataSynced: Promise<void> | undefined;
    let sidecar: Sidecar | undefined;
    const fd = temp.fd;
    for (let attempt = 1; !sidecar; attempt++) {
      version = await stamp(io, fd, version, area.exactTimes);
      // Started now, finished before the rename: it runs while the sidecar is written.
      if (durable) dataSynced = quiet((dataSynced ?? Promise.resolve()).then(() => fsyncFd(fd)));
      if (attempt === 1) ctx.onStep?.("temp-written", key);
      const candidate: Sidecar = { ...described, ...version, etag: versionName(version) };
      const path = await publishInto(ctx, io, folders, key, candidate);
      if (path) {
        sidecar = candidate;
        sidecarPath = path;
      } else if (attempt >= MAX_VERSION_ATTEMPTS) {
        const message = "Could not give the new version a distinct identity.";
        throw new StorageError("Unavailable", message, { operation: "write", key });
      } else {
        // Rare: same size, same millisecond as a version already described. Move on.
        version = { size: version.size, mtimeMs: version.mtimeMs + 1 };
      }
    }
    await dataSynced;
    ctx.onStep?.("sidecar-published", key);
    tempOpen = false;
    await io.close(temp.fd);
    signal.throwIfAborted();

    const target = await renameInto(ctx, io, folders, key, temp.path);
    committed = true;
    ctx.owned.delete(temp.path);
    ctx.onStep?.("renamed", key);
    if (durable) await ctx.dirSync.sync(dirname(target));
    if (previous && !sameVersion(previous, version)) {
      await dropSidecarsOf(layout, key, previous, folders.sidecars);
    }
    ctx.onStep?.("done", key);
    return {
      key,
      size: sidecar.size,
      contentType: sidecar.contentType,
      ...(sidecar.contentDisposition === undefined
        ? {}
        : { contentDisposition: sidecar.contentDisposition }),
      etag: sidecar.etag,
      lastModified: new Date(sidecar.mtimeMs),
      metadata: { ...sidecar.metadata },
    };
  } catch (err) {
    if (!committed) await undo(ctx, sink, temp, tempOpen, sidecarPath, folders);
    throw writeError(err, key);
  } finally {
    if (sidecarPath) ctx.owned.delete(sidecarPath);
  }
}

/** Sets the temp file's mtime to the version's; reads it back where the filesystem rounds. */
async function stamp(
  io: Io,
  fd: number,
  version: FileVersion,
  exact: boolean,
): Promise<FileVersion> {
  await io.futimes(fd, stampSeconds(version.mtimeMs));
  return exact ? version : fileVersion(await io.fstat(fd));
}

/** Publishes the sidecar; its folder entry is synced alongside when durable. Undefined: version taken. */
async function publishInto(
  ctx: CommitContext,
  io: Io,
  folders: { object: string; sidecars: string },
  key: string,
  sidecar: Sidecar,
): Promise<string | undefined> {
  const bytes = serializeSidecar(sidecar);
  for (let attempt = 1; ; attempt++) {
    const path = join(folders.sidecars, sidecarName(basename(key), sidecar));
    ctx.owned.add(path);
    try {
      const published = await publishSidecar(io, path, bytes, ctx.durable);
      if (!published) {
        ctx.owned.delete(path);
        return undefined;
      }
      if (ctx.durable) await ctx.dirSync.sync(folders.sidecars);
      return path;
    } catch (err) {
      ctx.owned.delete(path);
      // A delete or a failed write pruned the folder as empty since it was given: again.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= MAX_FOLDER_ATTEMPTS) {
        throw err;
      }
      ctx.sidecarFolders.forget(ctx.layout.sidecarFolder(key));
      folders.sidecars = await ctx.sidecarFolders.get(ctx.layout.sidecarFolder(key), "write", key);
    }
  }
}

/** Renames the temp file onto the key (the commit point); returns the object's path. */
async function renameInto(
  ctx: CommitContext,
  io: Io,
  folders: { object: string; sidecars: string },
  key: string,
  tempPath: string,
): Promise<string> {
  const folder = dirname(ctx.layout.objectPath(key));
  for (let attempt = 1; ; attempt++) {
    const target = join(folders.object, basename(key));
    try {
      await io.rename(tempPath, target);
      return target;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= MAX_FOLDER_ATTEMPTS) {
        throw err;
      }
      ctx.keyFolders.forget(folder);
      folders.object = await ctx.keyFolders.get(folder, "write", key);
    }
  }
}

/** After a failed write: its temp file, its sidecar, and the folders it left empty. */
async function undo(
  ctx: CommitContext,
  sink: BodySink,
  temp: TempFile | undefined,
  tempOpen: boolean,
  sidecarPath: string | undefined,
  folders: { object: string; sidecars: string } | undefined,
): Promise<void> {
  const file = temp ?? (await sink.opened?.catch(() => undefined));
  if (file) {
    if (tempOpen || !temp) await Promise.resolve(poolIo.close(file.fd)).catch(() => undefined);
    await unlink(file.path).catch(() => undefined);
    ctx.owned.delete(file.path);
  }
  if (sidecarPath) await unlink(sidecarPath).catch(() => undefined);
  if (folders) {
    await pruneEmptyFolders(ctx.layout.sidecarRoot, folders.sidecars);
    await pruneEmptyFolders(ctx.layout.root, folders.object);
  }
}

/** Errors only a write can meet: the key's path is taken by a folder or crosses a file. */
function writeError(err: unknown, key: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") {
    return new StorageError(
      "Unsupported",
      `write "${key}": a folder cannot hold an object and other objects under the same name (${code}).`,
      { operation: "write", key, cause: err },
    );
  }
  return err;
}

/** A promise whose rejection is handled by whoever awaits it later, not reported as unhandled. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
