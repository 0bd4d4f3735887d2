import { StripError } from "./errors.ts";

/** Receives bytes `start..end` of `buf` without a view being made for them. */
export type Sink = (buf: Buffer, start: number, end: number) => void;

const EMPTY = Buffer.alloc(0);

/**
 * Input chunks waiting for the parser. The first chunk is read from an offset instead of being
 * re-sliced, and forwarded bytes go to the sink as (chunk, start, end), so passing data makes
 * no Buffer objects at all: only what a parser asks to see becomes a view.
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #head = 0;
  /** Bytes available. */
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next n bytes (n ≤ length): a view when one chunk holds them, a small copy otherwise. */
  peek(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.#first();
    if (first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    // Merge just these n bytes into one chunk so later steps find them in one piece.
    const merged = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.#first();
      const k = Math.min(piece.length - this.#head, n - filled);
      piece.copy(merged, filled, this.#head, this.#head + k);
      filled += k;
      this.#advance(piece, k);
    }
    const rest = this.#chunks[0];
    if (rest && this.#head > 0) this.#chunks[0] = rest.subarray(this.#head);
    this.#head = 0;
    this.#chunks.unshift(merged);
    return merged;
  }

  take(n: number): Buffer {
    const out = this.peek(n);
    this.skip(n, undefined);
    return out;
  }

  /** Removes n bytes (n ≤ length), handing them to the sink if there is one. */
  skip(n: number, sink: Sink | undefined): void {
    this.length -= n;
    while (n > 0) {
      const first = this.#first();
      const k = Math.min(first.length - this.#head, n);
      sink?.(first, this.#head, this.#head + k);
      this.#advance(first, k);
      n -= k;
    }
  }

  /** Hands everything to the sink and empties the queue. */
  drain(sink: Sink): void {
    this.skip(this.length, sink);
  }

  #first(): Buffer {
    const first = this.#chunks[0];
    if (first === undefined) throw new StripError("Internal", "strip queue ran short");
    return first;
  }

  #advance(first: Buffer, k: number): void {
    this.#head += k;
    if (this.#head === first.length) {
      this.#chunks.shift();
      this.#head = 0;
    }
  }
}
