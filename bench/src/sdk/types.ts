import type { Readable } from "node:stream";

/** An inclusive byte range, as in an HTTP Range header. */
export interface ByteSpan {
  start: number;
  end: number;
}

/**
 * One backend driven through its own SDK, without mediagate: the direct upload and download
 * references, the naive baseline's single put, and the cleanup between benchmark cells.
 */
export interface BackendSdk {
  /** Streams the object (or one byte range of it) and resolves with the bytes received. */
  download(key: string, range?: ByteSpan): Promise<number>;
  /** Streams `size` bytes of `body` into `key` the way a careful SDK user would. */
  upload(key: string, body: Readable, size: number): Promise<void>;
  /** One request with the whole file in memory: what an Express tutorial does. */
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** Creates the bucket/container/folder when it is missing. */
  ensureBucket(): Promise<void>;
  /** Deletes every object; reports what was there so callers can check the bytes landed. */
  purge(): Promise<{ objects: number; bytes: number }>;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachLimit<T>(
  items: AsyncIterable<T> | Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  for await (const item of items) {
    const p: Promise<void> = fn(item).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** Reads a stream to its end, keeping nothing, and counts its bytes. */
export async function countBytes(stream: AsyncIterable<unknown>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}
