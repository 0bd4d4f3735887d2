import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ListEntry, NormalizedWriteOptions, ObjectInfo, ReadResult } from "./adapter.ts";
import { BaseAdapter, type BaseAdapterOptions } from "./base-adapter.ts";
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
 * that only becomes visible once its body has ended. With `prefix`, objects are stored
 * under prefix + key, like the cloud adapters do.
 */
export class MemoryAdapter extends BaseAdapter {
  readonly name = "memory";
  /** By backend name (prefix + key). Shared with the views `withPrefix` hands out. */
  private objects = new Map<string, StoredObject>();
  /** Keys with a write in progress; a finished or failed write must remove its entry. */
  private readonly staging = new Map<symbol, string>();

  constructor(options: BaseAdapterOptions = {}) {
    super(options);
  }

  /**
   * Another adapter over the same objects, namespaced under `prefix`: what a second,
   * prefixed adapter on the same bucket would see (for tests of prefixed set-ups).
   */
  withPrefix(prefix: string): MemoryAdapter {
    const view = new MemoryAdapter({ prefix: this.keyPrefix.value + prefix });
    view.objects = this.objects;
    return view;
  }

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
      this.objects.set(this.keyPrefix.apply(key), { bytes, info });
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
    const info = { ...copyInfo(stored.info), key };
    if (!options.range) return { info, body: Readable.from([stored.bytes], { objectMode: false }) };
    const range = resolveRange(options.range, stored.bytes.length, key);
    const slice = stored.bytes.subarray(range.start, range.end + 1);
    return { info, body: Readable.from([slice], { objectMode: false }), range };
  }

  protected async statObject(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    signal?.throwIfAborted();
    return { ...copyInfo(this.lookup(key, "stat").info), key };
  }

  protected async deleteObject(key: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    this.objects.delete(this.keyPrefix.apply(key));
  }

  protected async *listObjects(
    prefix: string,
    options: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry> {
    const namePrefix = this.keyPrefix.apply(prefix);
    let after: string | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      // One "page" per round, resumed after the last name like a backend's marker, so keys
      // written meanwhile show up exactly as they would on S3.
      const page = [...this.objects.keys()]
        .filter(
          (n) => n.startsWith(namePrefix) && (after === undefined || compareKeys(n, after) > 0),
        )
        .sort(compareKeys)
        .slice(0, options.pageSize);
      for (const name of page) {
        const stored = this.objects.get(name);
        const key = this.keyPrefix.strip(name);
        if (!stored || key === undefined) continue;
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
    const stored = this.objects.get(this.keyPrefix.apply(key));
    if (!stored) throw new StorageError("NotFound", `No object "${key}".`, { operation, key });
    return stored;
  }
}
