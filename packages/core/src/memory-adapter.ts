import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ListEntry, NormalizedWriteOptions, ObjectInfo, ReadResult } from "./adapter.ts";
import { BaseAdapter } from "./base-adapter.ts";
import { StorageError } from "./errors.ts";
import { resolveFinalMetadata } from "./final-metadata.ts";
import { compareKeys } from "./key-order.ts";
import type { ByteRange } from "./range.ts";
import { resolveRange } from "./range.ts";

interface StoredObject {
  bytes: Buffer;
  info: ObjectInfo;
}

const copyInfo = (info: ObjectInfo): ObjectInfo => ({
  ...info,
  lastModified: new Date(info.lastModified),
  metadata: { ...info.metadata },
});

/**
 * A StorageAdapter that keeps objects in a Map: for unit tests of code built on adapters,
 * and for testing core itself. It buffers each body (memory is its store), but otherwise
 * behaves like the real backends: validation, ranges, lazy key-ordered listing, and a write
 * that only becomes visible once its body has ended.
 */
export class MemoryAdapter extends BaseAdapter {
  readonly name = "memory";
  private readonly objects = new Map<string, StoredObject>();
  /** Keys with a write in progress; a finished or failed write must remove its entry. */
  private readonly staging = new Map<symbol, string>();

  /** Keys of writes still in progress: what the conformance suite calls leftovers. */
  inFlightWrites(): string[] {
    return [...this.staging.values()];
  }

  /** Number of stored objects. */
  get size(): number {
    return this.objects.size;
  }

  clear(): void {
    this.objects.clear();
  }

  protected async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    const token = Symbol(key);
    this.staging.set(token, key);
    try {
      const chunks: Buffer[] = [];
      const hash = createHash("md5");
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk);
          hash.update(chunk);
          done();
        },
      });
      await pipeline(body, sink, { signal: options.signal });
      const bytes = Buffer.concat(chunks);
      const metadata = resolveFinalMetadata(options, key);
      const info: ObjectInfo = {
        key,
        size: bytes.length,
        contentType: options.contentType,
        contentDisposition: options.contentDisposition,
        etag: hash.digest("hex"),
        lastModified: new Date(),
        metadata,
      };
      // Only now, with the whole body in hand, does the object (or its new version) appear.
      this.objects.set(key, { bytes, info });
      return copyInfo(info);
    } finally {
      this.staging.delete(token);
    }
  }

  protected async readObject(
    key: string,
    options: { range: ByteRange | undefined; signal: AbortSignal | undefined },
  ): Promise<ReadResult> {
    options.signal?.throwIfAborted();
    const stored = this.lookup(key, "read");
    const info = copyInfo(stored.info);
    if (!options.range) return { info, body: Readable.from([stored.bytes], { objectMode: false }) };
    const range = resolveRange(options.range, stored.bytes.length, key);
    const slice = stored.bytes.subarray(range.start, range.end + 1);
    return { info, body: Readable.from([slice], { objectMode: false }), range };
  }

  protected async statObject(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    signal?.throwIfAborted();
    return copyInfo(this.lookup(key, "stat").info);
  }

  protected async deleteObject(key: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    this.objects.delete(key);
  }

  protected async *listObjects(
    prefix: string,
    options: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry> {
    let after: string | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      // One "page" per round, resumed after the last key like a backend's marker, so keys
      // written meanwhile show up exactly as they would on S3.
      const page = [...this.objects.keys()]
        .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
        .sort(compareKeys)
        .slice(0, options.pageSize);
      for (const key of page) {
        const stored = this.objects.get(key);
        if (!stored) continue;
        const { size, lastModified, etag } = stored.info;
        yield { key, size, lastModified: new Date(lastModified), etag };
      }
      if (page.length < options.pageSize) return;
      after = page[page.length - 1];
    }
  }

  protected async checkBackend(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
  }

  private lookup(key: string, operation: string): StoredObject {
    const stored = this.objects.get(key);
    if (!stored) throw new StorageError("NotFound", `No object "${key}".`, { operation, key });
    return stored;
  }
}
