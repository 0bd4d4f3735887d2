import fs, { type BigIntStats } from "node:fs";
import { performance } from "node:perf_hooks";

/**
 * The filesystem calls of a commit, made either on the event loop ("inline", the `*Sync`
 * calls) or through libuv's thread pool. A pool call costs the event loop a hand-off and a
 * wake-up on top of the system call itself (about 10–15 µs of CPU on this project's VM),
 * more than writing a small body into the page cache, setting a time, closing, looking an
 * entry up or renaming takes (3–20 µs), so those run inline. Creating a file, which
 * allocates an inode and may wait on the disk for it, and fsync always go to the pool.
 * Callers `await` either kind: a plain value resolves in a microtask.
 */
export interface Io {
  readonly inline: boolean;
  open(path: string, flags: number, mode: number): number | Promise<number>;
  /** Writes every byte of `buffers` at the file's position (a regular file may take part of a write). */
  writeAll(fd: number, buffers: readonly Buffer[]): void | Promise<void>;
  futimes(fd: number, seconds: number): void | Promise<void>;
  fstat(fd: number): BigIntStats | Promise<BigIntStats>;
  close(fd: number): void | Promise<void>;
  rename(from: string, to: string): void | Promise<void>;
  /** The entry's stats, or undefined when there is none: a missing entry throws nothing. */
  lstat(path: string): BigIntStats | undefined | Promise<BigIntStats | undefined>;
}

const done =
  <T>(resolve: (value: T) => void, reject: (err: unknown) => void) =>
  (err: NodeJS.ErrnoException | null, value?: T) =>
    err ? reject(err) : resolve(value as T);

/** Thread-pool versions of the calls (Node's callback API: lighter than fs/promises' FileHandle). */
export const poolIo: Io = {
  inline: false,
  open: (path, flags, mode) =>
    new Promise((resolve, reject) => fs.open(path, flags, mode, done(resolve, reject))),
  writeAll: async (fd, buffers) => {
    let pending = buffers;
    while (pending.length > 0) {
      const written = await new Promise<number>((resolve, reject) =>
        fs.writev(fd, pending as Buffer[], done(resolve, reject)),
      );
      pending = rest(pending, written);
    }
  },
  futimes: (fd, seconds) =>
    new Promise((resolve, reject) => fs.futimes(fd, seconds, seconds, done(resolve, reject))),
  fstat: (fd) =>
    new Promise((resolve, reject) => fs.fstat(fd, { bigint: true }, done(resolve, reject))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, done(resolve, reject))),
  rename: (from, to) =>
    new Promise((resolve, reject) => fs.rename(from, to, done(resolve, reject))),
  lstat: (path) =>
    new Promise((resolve, reject) =>
      fs.lstat(path, { bigint: true }, (err, stats) =>
        err?.code === "ENOENT" ? resolve(undefined) : err ? reject(err) : resolve(stats),
      ),
    ),
};

/** fsync through the pool: it waits on the disk, so it never runs on the event loop. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, done(resolve, reject)));
}

/** What is left of `buffers` once their first `written` bytes are written. */
function rest(buffers: readonly Buffer[], written: number): readonly Buffer[] {
  let skip = written;
  const left: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) skip -= buffer.length;
    else {
      left.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
  }
  return left;
}

/**
 * Decides whether inline calls are still cheap. When most of the last WINDOW calls blocked
 * the event loop longer than `slowMs`, the volume makes them wait (a network filesystem, a
 * saturated disk), and calls go to the pool for `pauseMs` before inline is tried again.
 * Most, not any: on a busy machine a call is now and then preempted for a scheduler slice
 * (tens of ms), which the pool would not have spared the event loop either.
 */
export class InlineGovernor {
  readonly #slowMs: number;
  readonly #pauseMs: number;
  readonly #now: () => number;
  /** Whether each of the last WINDOW calls was slow, as a ring. */
  readonly #slow: boolean[] = new Array<boolean>(WINDOW).fill(false);
  #next = 0;
  #slowCount = 0;
  #pausedUntil = -Infinity;

  constructor(options: { slowMs?: number; pauseMs?: number; now?: () => number } = {}) {
    this.#slowMs = options.slowMs ?? 1;
    this.#pauseMs = options.pauseMs ?? 30_000;
    this.#now = options.now ?? (() => performance.now());
  }

  allows(): boolean {
    return this.#now() >= this.#pausedUntil;
  }

  /** Times one inline call. */
  time<T>(call: () => T): T {
    const started = this.#now();
    try {
      return call();
    } finally {
      const ended = this.#now();
      const slow = ended - started > this.#slowMs;
      this.#slowCount += Number(slow) - Number(this.#slow[this.#next]);
      this.#slow[this.#next] = slow;
      this.#next = (this.#next + 1) % WINDOW;
      if (this.#slowCount > WINDOW / 2) {
        this.#pausedUntil = ended + this.#pauseMs;
        this.#slow.fill(false);
        this.#slowCount = 0;
      }
    }
  }
}

/** Calls the governor judges by. */
const WINDOW = 32;

/** Inline versions of the calls, each timed by `governor`. */
export function inlineIo(governor: InlineGovernor): Io {
  const t = <T>(call: () => T) => governor.time(call);
  return {
    inline: true,
    // Creating a file allocates an inode, which may read the inode tables from disk (on a
    // busy ext4 volume a median 0.1 ms, up to tens of ms): that goes to the pool.
    open: (path, flags, mode) =>
      flags & fs.constants.O_CREAT
        ? poolIo.open(path, flags, mode)
        : t(() => fs.openSync(path, flags, mode)),
    writeAll: (fd, buffers) =>
      t(() => {
        let pending = buffers;
        while (pending.length > 0) pending = rest(pending, fs.writevSync(fd, pending as Buffer[]));
      }),
    futimes: (fd, seconds) => t(() => fs.futimesSync(fd, seconds, seconds)),
    fstat: (fd) => t(() => fs.fstatSync(fd, { bigint: true })),
    close: (fd) => t(() => fs.closeSync(fd)),
    rename: (from, to) => t(() => fs.renameSync(from, to)),
    lstat: (path) => t(() => fs.lstatSync(path, { bigint: true, throwIfNoEntry: false })),
  };
}
