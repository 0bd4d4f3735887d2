import type { Readable } from "node:stream";
import { StorageError } from "./errors.ts";

/**
 * Cuts a paused body into parts of exactly `partSize` bytes (the last one shorter), pulling
 * only as much as the next part needs, so memory is one part plus one chunk. Every wait also
 * ends when `signal` aborts: a stalled body can never hold a write hostage. Adapters that
 * upload in parts (S3 multipart, Azure blocks) share it.
 */
export class PartReader {
  readonly #body: Readable;
  readonly #partSize: number;
  /** The rest of the last chunk read, which belongs to the next part. */
  #pending: Buffer | undefined;
  #ended = false;
  /** Bytes handed out so far. */
  bytesRead = 0;

  constructor(body: Readable, partSize: number) {
    this.#body = body;
    this.#partSize = partSize;
  }

  /**
   * The next part, copied into `into` (a buffer of `partSize` bytes, which a full part then
   * is), so callers can recycle part buffers instead of leaving one to the GC per part.
   * Undefined once the body has ended.
   */
  async next(signal: AbortSignal, into: Buffer): Promise<Buffer | undefined> {
    let length = 0;
    while (length < this.#partSize) {
      const chunk = await this.#chunk(signal);
      if (chunk === undefined) break;
      const taken = this.#take(chunk, this.#partSize - length);
      chunk.copy(into, length, 0, taken);
      length += taken;
    }
    if (length === 0 && this.#ended) return undefined;
    this.bytesRead += length;
    return length === into.length ? into : into.subarray(0, length);
  }

  /**
   * The next part as the chunks it is made of, uncopied (joining them would allocate and
   * fill a part-sized buffer); empty once the body has ended.
   */
  async nextParts(signal: AbortSignal): Promise<Buffer[]> {
    const parts: Buffer[] = [];
    let length = 0;
    while (length < this.#partSize) {
      const chunk = await this.#chunk(signal);
      if (chunk === undefined) break;
      const taken = this.#take(chunk, this.#partSize - length);
      parts.push(taken < chunk.length ? chunk.subarray(0, taken) : chunk);
      length += taken;
    }
    this.bytesRead += length;
    return parts;
  }

  /** How much of `chunk` fits in `room`; the rest is kept for the next part. */
  #take(chunk: Buffer, room: number): number {
    const taken = Math.min(chunk.length, room);
    if (taken < chunk.length) this.#pending = chunk.subarray(taken);
    return taken;
  }

  /** Whether any byte follows, without taking it: tells a one-part body from a longer one. */
  async hasMore(signal: AbortSignal): Promise<boolean> {
    if (this.#pending) return true;
    const chunk = await this.#chunk(signal);
    if (chunk === undefined) return false;
    this.#pending = chunk;
    return true;
  }

  /**
   * The body's next chunk, as it was written. Not `read()`: with several chunks buffered it
   * hands them over joined into a fresh buffer, a copy of every byte (and new pages to fault
   * in) before the part copy; on a busy gateway that copy cost more than hashing. So the
   * body flows one 'data' event at a time and is paused again after each.
   */
  async #chunk(signal: AbortSignal): Promise<Buffer | undefined> {
    if (this.#pending) {
      const pending = this.#pending;
      this.#pending = undefined;
      return pending;
    }
    if (this.#ended) return undefined;
    signal.throwIfAborted();
    const body = this.#body;
    if (body.readableEnded) {
      this.#ended = true;
      return undefined;
    }
    // Destroyed with an error whose 'error' event is still to come: say what it was here.
    if (body.destroyed) throw bodyFailed(body);
    const next = await new Promise<Buffer | undefined>((resolve, reject) => {
      const settle = (fn: () => void) => {
        body.off("data", onData);
        body.off("end", onEnd);
        body.off("error", onError);
        body.off("close", onClose);
        signal.removeEventListener("abort", onAbort);
        fn();
      };
      const onData = (chunk: Buffer | string) => {
        body.pause();
        settle(() => resolve(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
      };
      const onEnd = () => settle(() => resolve(undefined));
      const onError = () => settle(() => reject(bodyFailed(body)));
      const onClose = () => settle(() => reject(bodyFailed(body)));
      const onAbort = () => {
        body.pause();
        settle(() => reject(signal.reason));
      };
      body.on("data", onData);
      body.on("end", onEnd);
      body.on("error", onError);
      body.on("close", onClose);
      signal.addEventListener("abort", onAbort, { once: true });
      body.resume();
    });
    if (next === undefined) this.#ended = true;
    return next;
  }
}

/** A body that failed, or was destroyed before it ended (a client that went away), aborts the write. */
function bodyFailed(body: Readable): StorageError {
  const cause: unknown = body.errored;
  return new StorageError(
    "Aborted",
    cause ? "The body stream failed." : "The body stream closed before it ended.",
    { operation: "write", ...(cause ? { cause } : {}) },
  );
}
