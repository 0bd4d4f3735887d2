import { Writable } from "node:stream";
import { poolIo } from "./io.ts";

/** A temp file of a write in progress: open, and this process's until renamed or removed. */
export interface TempFile {
  path: string;
  fd: number;
}

/**
 * Bytes gathered before they are written: each write is a round trip through libuv's thread
 * pool that costs the event loop about as much as hashing 50 KiB, and a request's chunks
 * arrive at most 64 KiB at a time. Gathering cuts those round trips eightfold on a fast
 * upload, for at most about three times this much per upload: the batch being written, an
 * earlier partial one still on its way, and the stream's own buffer of the same size. A body
 * that ends within one batch is never written here at all: the commit writes it whole.
 */
export const WRITE_BATCH_BYTES = 512 * 1024;
/** A batch of at least this much that is not yet full is written once the body is quiet for IDLE_FLUSH_MS. */
const SMALL_BATCH_BYTES = 64 * 1024;
const IDLE_FLUSH_MS = 2;
/**
 * Less than SMALL_BATCH_BYTES waits longer (a small upload over a slow link still ends in
 * memory, to be written in one go), but not for ever: a stalled body goes to disk.
 */
const SMALL_IDLE_FLUSH_MS = 250;

/**
 * The body's bytes on their way into a temp file, opened only once a batch must be written
 * (`openTemp`). Chunks are gathered into writes of WRITE_BATCH_BYTES, or written as they are
 * when the body pauses (a slow client's bytes do not wait in memory for long). The file is
 * not the sink's: the commit syncs, closes, renames or removes it.
 */
export class BodySink extends Writable {
  readonly #openTemp: () => Promise<TempFile>;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The last write started: writes go out one after another, in order. */
  #writing: Promise<void> = Promise.resolve();
  #idle: NodeJS.Timeout | undefined;
  #idleDelay = 0;
  /** The temp file, once a batch had to be written (the commit removes it on failure). */
  opened: Promise<TempFile> | undefined;
  /** Bytes taken so far. */
  bytes = 0;
  /** The filesystem's error, when opening or writing the temp file failed (a full disk). */
  failure: unknown;

  constructor(openTemp: () => Promise<TempFile>) {
    super({ highWaterMark: WRITE_BATCH_BYTES });
    this.#openTemp = openTemp;
  }

  /** The whole body, if it ended before any of it had to be written (else undefined). */
  gathered(): Buffer[] | undefined {
    return this.opened ? undefined : this.#pending;
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
    clearTimeout(this.#idle);
    if (!this.opened) {
      done();
      return;
    }
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
    // Counted from the first byte waiting, not the last: a trickle cannot keep bytes back.
    const delay = this.#pendingBytes >= SMALL_BATCH_BYTES ? IDLE_FLUSH_MS : SMALL_IDLE_FLUSH_MS;
    if (this.#idle && this.#idleDelay <= delay) return;
    clearTimeout(this.#idle);
    this.#idleDelay = delay;
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      this.#flush().catch((err: unknown) => this.destroy(err as Error));
    }, delay);
  }

  /** Writes what is pending after the writes already started; resolves once it is written. */
  #flush(): Promise<void> {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    const buffers = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.opened ??= this.#openTemp();
    const opened = this.opened;
    const written = this.#writing
      .then(async () => {
        const temp = await opened;
        if (buffers.length > 0) await poolIo.writeAll(temp.fd, buffers);
      })
      .catch((err: unknown) => {
        this.failure ??= err;
        throw err;
      });
    // A failed write fails the stream through whoever awaits it; the chain itself goes on.
    this.#writing = written.catch(() => undefined);
    return written;
  }
}
