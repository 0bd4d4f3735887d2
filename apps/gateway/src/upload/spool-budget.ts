import { Transform, type Readable, type TransformCallback } from "node:stream";
import type {
  ListEntry,
  ListOptions,
  ObjectInfo,
  OperationOptions,
  ReadOptions,
  ReadResult,
  StorageAdapter,
  WriteOptions,
} from "@mediagate/core";
import { HttpError } from "../http/errors.ts";

/**
 * SPOOL_MAX_BYTES: how many bytes of spooled parts this process holds on disk at once. A part
 * that arrives before its fields is spooled before any token has been checked, so without a
 * total an unauthenticated client could fill the disk with many MAX_FILE_SIZE parts at once.
 */
export class SpoolBudget {
  readonly maxBytes: number;
  #used = 0;

  constructor(maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError("SpoolBudget needs a positive size.");
    this.maxBytes = maxBytes;
  }

  /** Bytes currently reserved. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` from the budget; false (taking nothing) when they do not fit. */
  reserve(bytes: number): boolean {
    if (this.#used + bytes > this.maxBytes) return false;
    this.#used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

export const spoolFull = () =>
  new HttpError(
    "SPOOL_FULL",
    "The server is holding too many files sent before their fields; send the fields first, or try again later.",
  );

/**
 * The spool store with the budget applied. Parts declare no size, so each write reserves its
 * bytes as they arrive and is refused with SPOOL_FULL the moment one chunk would go over:
 * the write is cancelled (the inner adapter removes what it wrote) and its bytes are given
 * back at once. A stored part keeps its bytes until it is deleted, which the upload route
 * does before answering, whatever the outcome.
 */
export class BudgetedSpool implements StorageAdapter {
  readonly name: string;
  readonly #inner: StorageAdapter;
  readonly #budget: SpoolBudget;
  /** Bytes reserved by each stored part, given back when it is deleted. */
  readonly #held = new Map<string, number>();

  constructor(inner: StorageAdapter, budget: SpoolBudget) {
    this.#inner = inner;
    this.#budget = budget;
    this.name = inner.name;
  }

  async write(key: string, body: Readable, options?: WriteOptions): Promise<ObjectInfo> {
    const budget = this.#budget;
    let reserved = 0;
    let settled = false;
    let refusal: HttpError | undefined;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        // Once the write has failed, nothing more may be reserved: it would never be released.
        if (settled) return done();
        if (!budget.reserve(chunk.length)) {
          refusal = spoolFull();
          return done(refusal);
        }
        reserved += chunk.length;
        done(null, chunk);
      },
    });
    const onBodyError = (err: Error) => counter.destroy(err);
    body.once("error", onBodyError);
    body.pipe(counter);
    try {
      const info = await this.#inner.write(key, counter, options);
      this.#held.set(key, (this.#held.get(key) ?? 0) + reserved);
      return info;
    } catch (err) {
      body.unpipe(counter);
      counter.destroy();
      budget.release(reserved);
      throw refusal ?? err;
    } finally {
      settled = true;
      body.off("error", onBodyError);
    }
  }

  async delete(key: string, options?: OperationOptions): Promise<void> {
    try {
      await this.#inner.delete(key, options);
    } finally {
      // Given back even if the delete failed (it is logged): a budget that only ever shrank
      // would end up refusing every spooled upload.
      const held = this.#held.get(key);
      if (held !== undefined) {
        this.#held.delete(key);
        this.#budget.release(held);
      }
    }
  }

  read(key: string, options?: ReadOptions): Promise<ReadResult> {
    return this.#inner.read(key, options);
  }

  stat(key: string, options?: OperationOptions): Promise<ObjectInfo> {
    return this.#inner.stat(key, options);
  }

  list(prefix?: string, options?: ListOptions): AsyncIterable<ListEntry> {
    return this.#inner.list(prefix, options);
  }

  check(options?: OperationOptions): Promise<void> {
    return this.#inner.check(options);
  }
}
