import type { Readable } from "node:stream";
import { StorageError } from "@mediagate/core";

/**
 * Cuts a paused body into blocks of exactly `blockSize` bytes (the last one shorter),
 * pulling only as much as the next block needs, so memory is one block plus one chunk.
 * Every wait also ends when `signal` aborts: a stalled body can never hold a write hostage.
 */
export class BlockReader {
  readonly #body: Readable;
  readonly #blockSize: number;
  /** The part of the last chunk read that belongs to the next block. */
  #pending: Buffer | undefined;
  #ended = false;
  /** Bytes handed out so far. */
  bytesRead = 0;

  constructor(body: Readable, blockSize: number) {
    this.#body = body;
    this.#blockSize = blockSize;
  }

  /**
   * The next block, or undefined once the body has ended. With `into` (a buffer of
   * `blockSize` bytes) the block is copied there, and a full block is `into` itself, so
   * callers can recycle block buffers instead of leaving one to the GC per block.
   */
  async next(signal: AbortSignal, into?: Buffer): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let length = 0;
    while (length < this.#blockSize) {
      const chunk = await this.#chunk(signal);
      if (chunk === undefined) break;
      const taken = Math.min(chunk.length, this.#blockSize - length);
      if (taken < chunk.length) this.#pending = chunk.subarray(taken);
      if (into) chunk.copy(into, length, 0, taken);
      else parts.push(taken < chunk.length ? chunk.subarray(0, taken) : chunk);
      length += taken;
    }
    if (length === 0 && this.#ended) return undefined;
    this.bytesRead += length;
    if (into) return length === into.length ? into : into.subarray(0, length);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
  }

  /** Whether any byte follows, without taking it: tells a one-block body from a longer one. */
  async hasMore(signal: AbortSignal): Promise<boolean> {
    if (this.#pending) return true;
    const chunk = await this.#chunk(signal);
    if (chunk === undefined) return false;
    this.#pending = chunk;
    return true;
  }

  async #chunk(signal: AbortSignal): Promise<Buffer | undefined> {
    if (this.#pending) {
      const pending = this.#pending;
      this.#pending = undefined;
      return pending;
    }
    for (;;) {
      if (this.#ended) return undefined;
      signal.throwIfAborted();
      const chunk: unknown = this.#body.read();
      if (chunk !== null) {
        const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
        if (buffer.length > 0) return buffer;
        continue;
      }
      if ((await this.#whenReadable(signal)) === "end") this.#ended = true;
    }
  }

  #whenReadable(signal: AbortSignal): Promise<"readable" | "end"> {
    const body = this.#body;
    if (body.readableEnded) return Promise.resolve("end");
    if (body.destroyed) return Promise.reject(body.errored ?? prematureClose());
    return new Promise((resolve, reject) => {
      const settle = (fn: () => void) => {
        body.off("readable", onReadable);
        body.off("end", onEnd);
        body.off("error", onError);
        body.off("close", onClose);
        signal.removeEventListener("abort", onAbort);
        fn();
      };
      const onReadable = () => settle(() => resolve("readable"));
      const onEnd = () => settle(() => resolve("end"));
      const onError = (err: unknown) => settle(() => reject(err));
      const onClose = () => settle(() => reject(body.errored ?? prematureClose()));
      const onAbort = () => settle(() => reject(signal.reason));
      body.on("readable", onReadable);
      body.on("end", onEnd);
      body.on("error", onError);
      body.on("close", onClose);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** A body destroyed without an error (a client that went away) aborts the write. */
function prematureClose(): StorageError {
  return new StorageError("Aborted", "The body stream closed before it ended.", {
    operation: "write",
  });
}
