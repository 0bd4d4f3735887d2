import { pipeline, type Readable, type Transform } from "node:stream";
import type { Logger } from "pino";
import {
  resolveRange,
  StorageError,
  type ListEntry,
  type ListOptions,
  type ObjectInfo,
  type OperationOptions,
  type ReadOptions,
  type ReadResult,
  type StorageAdapter,
  type WriteOptions,
} from "@mediagate/core";
import { isEncryptionError, openObject, type OpenedObject } from "@mediagate/encryption";
import { ENVELOPE } from "./hook.ts";
import type { UidKeys } from "./keys.ts";

/**
 * The store as its objects' owners see it: encrypted objects are opened with their uid's
 * key and read as plaintext (sizes, ranges and bytes), a range decrypting only the segments
 * it needs; objects stored before encryption was turned on read as they are. A tampered or
 * truncated object fails its stream (the download is cut) and is logged; an object whose
 * uid key was destroyed (an erased uid) is gone.
 */
export class DecryptingStorage implements StorageAdapter {
  readonly name: string;
  readonly #inner: StorageAdapter;
  readonly #keys: UidKeys;
  readonly #logger: Logger;

  constructor(inner: StorageAdapter, keys: UidKeys, logger: Logger) {
    this.name = inner.name;
    this.#inner = inner;
    this.#keys = keys;
    this.#logger = logger;
  }

  async stat(key: string, options?: OperationOptions): Promise<ObjectInfo> {
    const info = await this.#inner.stat(key, options);
    const opened = await this.#open(info);
    return opened ? { ...info, size: opened.plaintextSize(info.size) } : info;
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const stored = await this.#inner.stat(key, { signal: options.signal });
    const opened = await this.#open(stored);
    if (!opened) return this.#inner.read(key, options);
    const info = { ...stored, size: opened.plaintextSize(stored.size) };
    if (!options.range) {
      const { body } = await this.#inner.read(key, { signal: options.signal });
      return { info, body: this.#through(body, opened.createDecryptStream(), key) };
    }
    const range = resolveRange(options.range, info.size, key);
    const plan = opened.planRange(stored.size, range);
    const { body } = await this.#inner.read(key, {
      range: plan.ciphertext,
      signal: options.signal,
    });
    return { info, range, body: this.#through(body, opened.createRangeDecryptStream(plan), key) };
  }

  write(key: string, body: Readable, options?: WriteOptions): Promise<ObjectInfo> {
    return this.#inner.write(key, body, options);
  }

  delete(key: string, options?: OperationOptions): Promise<void> {
    return this.#inner.delete(key, options);
  }

  list(prefix?: string, options?: ListOptions): AsyncIterable<ListEntry> {
    return this.#inner.list(prefix, options);
  }

  check(options?: OperationOptions): Promise<void> {
    return this.#inner.check(options);
  }

  /** The object opened with its uid's key; undefined for an object stored in the clear. */
  async #open(info: ObjectInfo): Promise<OpenedObject | undefined> {
    const envelope = info.metadata[ENVELOPE];
    if (envelope === undefined) return undefined;
    const uid = info.metadata.uid ?? null;
    const uidKey = await this.#keys.forRead(uid);
    if (!uidKey) {
      throw new StorageError("NotFound", `read "${info.key}": its owner's key was destroyed.`, {
        operation: "read",
        key: info.key,
      });
    }
    try {
      return openObject(uidKey, envelope, { associatedData: info.key });
    } catch (err) {
      this.#logger.error({ err, key: info.key }, "an encrypted object's envelope does not open");
      throw new StorageError("Internal", `read "${info.key}": the object cannot be opened.`, {
        operation: "read",
        key: info.key,
        cause: err,
      });
    }
  }

  #through(body: Readable, decrypt: Transform, key: string): Transform {
    pipeline(body, decrypt, (err) => {
      if (err && isEncryptionError(err)) {
        this.#logger.error(
          { key, code: err.code },
          "an encrypted object failed to verify; the read was cut",
        );
      }
    });
    return decrypt;
  }
}
