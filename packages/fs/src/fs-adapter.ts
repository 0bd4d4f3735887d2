import { randomUUID } from "node:crypto";
import { constants, lstatSync } from "node:fs";
import { open, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { addAbortSignal, type Readable } from "node:stream";
import {
  BaseAdapter,
  resolveRange,
  StorageError,
  type ByteRange,
  type ListEntry,
  type NormalizedWriteOptions,
  type ObjectInfo,
  type ReadResult,
  type StorageErrorCode,
} from "@mediagate/core";
import { commitWrite, type CommitStep } from "./commit.ts";
import { DirSyncer } from "./dir-sync.ts";
import { classifyFsError } from "./fs-errors.ts";
import { inlineIo, InlineGovernor, poolIo, type Io } from "./io.ts";
import { fileVersion, type Layout } from "./layout.ts";
import { assertNotReserved, ensureDirInside, escapeError, realInside } from "./paths.ts";
import { describeObject } from "./lookup.ts";
import { openRoot, type RootState } from "./root-state.ts";
import { sweepLeftovers, type SweepResult } from "./sweep.ts";
import { dropSidecarsOf, pruneEmptyFolders } from "./tidy.ts";
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
  /**
   * Make a small write's quick filesystem calls (writing the body into the page cache,
   * setting its time, closing, looking up, renaming) on the event loop rather than through
   * libuv's thread pool, whose hand-off costs more CPU than those calls (default true).
   * Creating files and fsync always go to the pool, and once most of the inline calls
   * block for more than 1 ms (a slow or network volume), every call goes to the pool for
   * 30 s, so such a volume never stalls the server.
   */
  inlineSyscalls?: boolean;
  /**
   * Called, synchronously, as each write passes a step of its commit (see CommitStep): for
   * crash tests, which stop the process there and kill it.
   */
  onCommitStep?: (step: CommitStep, key: string) => void;
}

/** Attempts at reading an object that overwrites keep replacing under the reader. */
const MAX_DESCRIBE_ATTEMPTS = 5;
/** Clock difference allowed between processes (or NFS clients) sharing the root. */
const SWEEP_SLACK_MS = 10 * 60 * 1000;

/**
 * Stores objects as files under a root folder, with content type and metadata in a sidecar
 * file per version (see the README's "On disk" and commit.ts for the protocol).
 */
export class FsAdapter extends BaseAdapter {
  readonly name = "fs";
  /** The root as given, made absolute. */
  readonly root: string;
  /** Whether writes are fsynced before they resolve (see FsAdapterOptions.durable). */
  readonly durable: boolean;
  readonly #createRoot: boolean;
  readonly #inline: Io | undefined;
  readonly #governor = new InlineGovernor();
  readonly #onStep: FsAdapterOptions["onCommitStep"];
  readonly #dirSync = new DirSyncer(() => this.#io());
  /** Temp files and sidecars of this process's writes in progress (the sweep spares them). */
  readonly #owned = new Set<string>();
  #state: Promise<RootState> | undefined;
  #lastSweep: { startedAt: number; olderThanMs: number } | undefined;

  constructor(options: FsAdapterOptions) {
    super();
    if (typeof options?.root !== "string" || options.root.trim() === "") {
      throw new StorageError("InvalidArgument", "FsAdapter needs a root folder.", {
        operation: "configure",
      });
    }
    this.root = resolve(options.root);
    this.#createRoot = options.createRoot ?? false;
    this.durable = options.durable ?? true;
    this.#inline = options.inlineSyscalls === false ? undefined : inlineIo(this.#governor);
    this.#onStep = options.onCommitStep;
  }

  protected override classifyError(err: unknown): StorageErrorCode | undefined {
    return classifyFsError(err);
  }

  /**
   * Removes what crashed writes left: temp files older than `olderThanMs` that no write of
   * this process owns (another process's live write renews its file's mtime as it writes,
   * so the bound must exceed the longest pause a body may take), and sidecars older than
   * that no object's version matches, or empty or unreadable ones. Folders left empty go
   * too, and sidecars of the legacy layout move into this one. The first sweep of a process
   * reads every sidecar folder; later ones only those changed since the previous sweep.
   */
  async sweepLeftovers(options: { olderThanMs: number }): Promise<SweepResult> {
    const { olderThanMs } = options;
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
      throw new StorageError("InvalidArgument", "olderThanMs must be a non-negative number.", {
        operation: "sweepLeftovers",
      });
    }
    return this.guard("sweepLeftovers", undefined, async () => {
      const state = await this.#rootState();
      const startedAt = Date.now();
      const last = this.#lastSweep;
      const result = await sweepLeftovers({
        layout: state.layout,
        owned: this.#owned,
        cutoff: startedAt - olderThanMs,
        unchangedBefore: last && last.startedAt - last.olderThanMs - SWEEP_SLACK_MS,
        sidecarFolder: (key) =>
          state.sidecarFolders.get(state.layout.sidecarFolder(key), "sweep", key),
        syncFolder: (dir) => this.#dirSync.sync(dir),
        durable: this.durable,
      });
      this.#lastSweep = { startedAt, olderThanMs };
      return result;
    });
  }

  /**
   * @deprecated Use `sweepLeftovers({ olderThanMs })`, which this calls (sidecars included);
   * returns the number of temp files removed.
   */
  async removeStaleTempFiles(olderThanMs = 24 * 60 * 60 * 1000): Promise<number> {
    return (await this.sweepLeftovers({ olderThanMs })).tempFiles;
  }

  protected async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    const state = await this.#rootState();
    return commitWrite(
      {
        layout: state.layout,
        durable: this.durable,
        keyFolders: state.keyFolders,
        sidecarFolders: state.sidecarFolders,
        dirSync: this.#dirSync,
        io: () => this.#io(),
        tempArea: () => state.tempArea(),
        createTemp: (io) => state.createTemp(io, this.#owned),
        owned: this.#owned,
        onStep: this.#onStep,
      },
      key,
      body,
      options,
    );
  }

  protected async readObject(
    key: string,
    options: { range: ByteRange | undefined; signal: AbortSignal | undefined },
  ): Promise<ReadResult> {
    options.signal?.throwIfAborted();
    const { layout } = await this.#rootState();
    for (let attempt = 1; ; attempt++) {
      const real = await this.#existingObjectPath(layout, key, "read");
      let handle;
      try {
        // The path is real (no symlinks); O_NOFOLLOW refuses one swapped in since the check.
        handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ELOOP") throw escapeError("read", key);
        throw err;
      }
      try {
        const stats = await handle.stat({ bigint: true });
        if (!stats.isFile()) throw notFound("read", key);
        const info = await describeObject(layout, key, stats, attempt < MAX_DESCRIBE_ATTEMPTS);
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
    const { layout } = await this.#rootState();
    for (let attempt = 1; ; attempt++) {
      const real = await this.#existingObjectPath(layout, key, "stat");
      const stats = await stat(real, { bigint: true });
      if (!stats.isFile()) throw notFound("stat", key);
      const info = await describeObject(layout, key, stats, attempt < MAX_DESCRIBE_ATTEMPTS);
      if (info) return info;
    }
  }

  protected async deleteObject(key: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const { layout } = await this.#rootState();
    const path = layout.objectPath(key);
    // The parent is resolved and checked: unlinking through a symlinked folder would delete
    // a file outside the root.
    const parent = await realInside(layout.root, dirname(path), "delete", key);
    assertNotReserved(layout.root, parent, "delete", key);
    const target = join(parent, basename(path));
    const found = lstatSync(target, { bigint: true, throwIfNoEntry: false });
    // A folder of other objects is not an object: there is nothing to delete.
    if (!found || found.isDirectory()) throw notFound("delete", key);
    await unlink(target);
    // The object is gone from here on; bookkeeping failures must not turn that into an error.
    if (found.isFile()) await dropSidecarsOf(layout, key, fileVersion(found));
    await pruneEmptyFolders(layout.sidecarRoot, layout.sidecarFolder(key));
    await pruneEmptyFolders(layout.root, parent);
  }

  protected async *listObjects(
    prefix: string,
    options: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry> {
    // pageSize means nothing to a directory walk: each folder is read when reached.
    const { layout } = await this.#rootState();
    const cut = prefix.lastIndexOf("/");
    const dirKey = prefix.slice(0, cut + 1);
    const namePrefix = prefix.slice(cut + 1);
    const dir = dirKey === "" ? layout.root : layout.objectPath(dirKey.slice(0, -1));
    let real: string;
    try {
      real = await realInside(layout.root, dir, "list", prefix);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw err;
    }
    assertNotReserved(layout.root, real, "list", prefix);
    yield* walkObjects(real, dirKey, namePrefix, options.signal);
  }

  protected async checkBackend(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    // Re-resolved on every check: the probe must see a root that vanished or was replaced.
    this.#state = undefined;
    const { layout } = await this.#rootState();
    const { real } = await ensureDirInside(layout.root, layout.tmpDir, "check");
    const probe = join(real, `check-${randomUUID()}`);
    await writeFile(probe, "", { flag: "wx" });
    await unlink(probe);
  }

  #io(): Io {
    return this.#inline && this.#governor.allows() ? this.#inline : poolIo;
  }

  #rootState(): Promise<RootState> {
    // Only success is cached, so a root created (or fixed) later is picked up.
    this.#state ??= openRoot(this.root, this.#createRoot, this.durable, this.#dirSync).catch(
      (err: unknown) => {
        this.#state = undefined;
        throw err;
      },
    );
    return this.#state;
  }

  /** The real path of an existing object, proven inside the root and outside bookkeeping. */
  async #existingObjectPath(layout: Layout, key: string, operation: string): Promise<string> {
    const real = await realInside(layout.root, layout.objectPath(key), operation, key);
    assertNotReserved(layout.root, real, operation, key);
    return real;
  }
}

function notFound(operation: string, key: string): StorageError {
  return new StorageError("NotFound", `${operation} "${key}": no such object.`, { operation, key });
}
