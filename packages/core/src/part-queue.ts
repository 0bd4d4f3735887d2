/**
 * Sends the parts of one upload with at most `concurrency` on the wire. The first failure
 * stops the reading and sending of further parts and is what `add`/`finish` throw from then
 * on. Part buffers are recycled once their request has succeeded, so an upload allocates
 * concurrency + 1 of them whatever the body's size, rather than leaving a part of garbage
 * per part to the GC (which frees large buffers lazily: on a busy gateway, tens of MiB).
 */
export class PartQueue<T> {
  readonly #partSize: number;
  readonly #concurrency: number;
  readonly #failed = new AbortController();
  /** Fires on the caller's abort and on the first failed part: stop reading the body. */
  readonly readSignal: AbortSignal;
  /** Buffers this queue allocated (never the caller's own chunks), and those free again. */
  readonly #owned = new Set<Buffer>();
  readonly #free: Buffer[] = [];
  readonly #results: T[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(partSize: number, concurrency: number, signal: AbortSignal) {
    this.#partSize = partSize;
    this.#concurrency = concurrency;
    this.readSignal = AbortSignal.any([signal, this.#failed.signal]);
  }

  /** Parts added so far. */
  get length(): number {
    return this.#results.length;
  }

  /** A part-sized buffer no request is using: a recycled one, or a new one. */
  freeBuffer(): Buffer {
    const recycled = this.#free.pop();
    if (recycled) return recycled;
    const buffer = Buffer.allocUnsafeSlow(this.#partSize);
    this.#owned.add(buffer);
    return buffer;
  }

  /**
   * Waits for a free slot, then starts `send`; `body` (when it is one of `freeBuffer()`'s)
   * goes back to the free buffers once that succeeds. Results keep the order of `add`.
   */
  async add(body: Buffer | undefined, send: () => Promise<T>): Promise<void> {
    while (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
    // The caller's abort, if it came first, is the reason to report; else the failed part.
    this.readSignal.throwIfAborted();
    this.#throwIfFailed();
    const index = this.#results.length;
    this.#results.length = index + 1;
    const sending: Promise<void> = send()
      .then(
        (result) => {
          this.#results[index] = result;
          if (body && this.#owned.has(body)) this.#free.push(body);
        },
        (error: unknown) => {
          this.#failure ??= { error };
          this.#failed.abort(error);
        },
      )
      .finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  /** Waits for every part; resolves with their results, in order. */
  async finish(): Promise<T[]> {
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
    return [...this.#results];
  }

  /** Waits until no part is on the wire, so clean-up cannot race a late one. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
