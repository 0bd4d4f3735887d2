import type { Readable } from "node:stream";
import type {
  ListEntry,
  ListOptions,
  NormalizedWriteOptions,
  ObjectInfo,
  OperationOptions,
  ReadOptions,
  ReadResult,
  RemoveAbandonedUploadsOptions,
  SignedUrlOptions,
  StorageAdapter,
  WriteOptions,
} from "./adapter.ts";
import { MAX_SIGNED_URL_EXPIRY_SECONDS } from "./adapter.ts";
import { StorageError, toStorageError, type StorageErrorCode } from "./errors.ts";
import { KeyPrefix, assertValidKey, assertValidPrefix, isValidKey } from "./keys.ts";
import { memoizeFinalMetadata } from "./final-metadata.ts";
import { assertValidMetadata } from "./metadata.ts";
import { assertValidRangeSpec, type ByteRange } from "./range.ts";

export const DEFAULT_CONTENT_TYPE = "application/octet-stream";
export const MAX_PAGE_SIZE = 1000;

export interface BaseAdapterOptions {
  /**
   * Namespace inside the bucket/container ("tenant-a/media"). Drivers name objects with
   * `this.keyPrefix.apply(key)`; the base refuses, before any I/O, every key that would not
   * fit the backend's limit once the prefix is added.
   */
  prefix?: string | undefined;
}

/**
 * Everything adapters share, so each driver only talks to its backend: key and argument
 * validation before any I/O (including that prefix + key fits), one AbortSignal that fires
 * for caller aborts *and* body stream failures, destroying the body on failure, delete that
 * is idempotent for missing objects but not for a missing bucket, listings that skip names
 * which are not valid keys, and translating every thrown error into a StorageError (drivers
 * only add SDK-specific rules through `classifyError`).
 *
 * Drivers implement the protected `*Object` methods; keys they receive are already valid
 * and fit once prefixed.
 */
export abstract class BaseAdapter implements StorageAdapter {
  abstract readonly name: string;
  /** The namespace inside the bucket (empty without one): `apply` to name objects, `strip` listings. */
  protected readonly keyPrefix: KeyPrefix;

  constructor(options: BaseAdapterOptions = {}) {
    this.keyPrefix = new KeyPrefix(options.prefix);
  }

  /** Stream `body` into `key`. Must reject and leave nothing behind once `signal` aborts. */
  protected abstract writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo>;
  /** Read the object; resolve `range` with HTTP semantics (see `resolveRange`). */
  protected abstract readObject(
    key: string,
    options: { range: ByteRange | undefined; signal: AbortSignal | undefined },
  ): Promise<ReadResult>;
  protected abstract statObject(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo>;
  /**
   * Remove the object. Throwing NotFound is fine: the base makes delete idempotent, once
   * `bucketIsMissing` says the NotFound was about the object and not its bucket.
   */
  protected abstract deleteObject(key: string, signal: AbortSignal | undefined): Promise<void>;
  /**
   * Yield entries under `prefix` in key order, fetching one page of `pageSize` at a time.
   * Names other tools stored that are not valid keys may be yielded: the base drops them.
   */
  protected abstract listObjects(
    prefix: string,
    options: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry>;
  protected abstract checkBackend(signal: AbortSignal | undefined): Promise<void>;

  /** SDK-specific error rules; return undefined to fall back to the shared ones. */
  protected classifyError(_err: unknown): StorageErrorCode | undefined {
    return undefined;
  }

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<ObjectInfo> {
    const normalized = this.validateWrite(key, body, options);
    const controller = new AbortController();
    let sourceError: unknown;
    const onCallerAbort = () => controller.abort(options.signal?.reason);
    const onBodyError = (err: unknown) => {
      sourceError ??= err;
      controller.abort(err);
    };
    options.signal?.addEventListener("abort", onCallerAbort, { once: true });
    body.on("error", onBodyError);
    try {
      if (options.signal?.aborted) onCallerAbort();
      controller.signal.throwIfAborted();
      return await this.writeObject(key, body, { ...normalized, signal: controller.signal });
    } catch (err) {
      // The write owns the body from here on: stop its producer, and keep a listener so a
      // late error from it cannot crash the process.
      body.on("error", () => {});
      if (!body.destroyed) body.destroy();
      if (controller.signal.aborted && !(err instanceof StorageError && err.code !== "Aborted")) {
        const why = sourceError === undefined ? "the write was aborted" : "the body stream failed";
        throw new StorageError("Aborted", `write "${key}": ${why}.`, {
          operation: "write",
          key,
          cause: sourceError ?? controller.signal.reason ?? err,
        });
      }
      throw this.translate(err, "write", key);
    } finally {
      options.signal?.removeEventListener("abort", onCallerAbort);
      body.off("error", onBodyError);
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    this.#assertKey(key, "read");
    if (options.range) assertValidRangeSpec(options.range);
    return this.guard("read", key, () =>
      this.readObject(key, { range: options.range, signal: options.signal }),
    );
  }

  async stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo> {
    this.#assertKey(key, "stat");
    return this.guard("stat", key, () => this.statObject(key, options.signal));
  }

  async delete(key: string, options: OperationOptions = {}): Promise<void> {
    this.#assertKey(key, "delete");
    try {
      await this.guard("delete", key, () => this.deleteObject(key, options.signal));
    } catch (err) {
      if (!(err instanceof StorageError) || err.code !== "NotFound") throw err;
      // Idempotent for a missing object only: "deleted" from a bucket that does not exist
      // would hide a misconfigured bucket name until the first read fails.
      if (await this.bucketIsMissing(err, options.signal)) {
        throw new StorageError(
          "NotFound",
          `delete "${key}": the bucket/container/folder itself does not exist.`,
          { operation: "delete", key, cause: err.cause ?? err },
        );
      }
    }
  }

  list(prefix = "", options: ListOptions = {}): AsyncIterable<ListEntry> {
    assertValidPrefix(prefix);
    // A prefix too long once namespaced could never match a stored name.
    this.keyPrefix.assertFits(prefix, "list");
    const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new StorageError("InvalidArgument", `pageSize must be 1 to ${MAX_PAGE_SIZE}.`, {
        operation: "list",
      });
    }
    return this.iterate(prefix, pageSize, options.signal);
  }

  async check(options: OperationOptions = {}): Promise<void> {
    await this.guard("check", undefined, () => this.checkBackend(options.signal));
  }

  /** Runs a backend call and translates whatever it throws. For drivers' own methods too. */
  protected async guard<T>(
    operation: string,
    key: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err, operation, key);
    }
  }

  /**
   * Whether a NotFound that `deleteObject` raised means the bucket/container/folder is
   * missing rather than the object. This default asks the backend: a one-entry listing of
   * the adapter's namespace fails with NotFound only when the bucket is gone. Its other
   * failures are reported as the delete's, since which NotFound it was is then unknown.
   * Drivers whose errors already tell (S3's NoSuchBucket, Azure's ContainerNotFound)
   * override this to answer without the extra request.
   */
  protected async bucketIsMissing(
    notFound: StorageError,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const probe = this.listObjects("", { pageSize: 1, signal })[Symbol.asyncIterator]();
    try {
      await probe.next();
      return false;
    } catch (err) {
      const error = this.translate(err, "delete", notFound.key);
      if (error.code === "NotFound") return true;
      throw error;
    } finally {
      await probe.return?.()?.catch(() => undefined);
    }
  }

  /**
   * Shared argument checks for drivers that offer `signedUrl`: call first, then sign.
   */
  protected validateSignedUrl(key: string, options: SignedUrlOptions): void {
    this.#assertKey(key, "signedUrl");
    const { expiresIn } = options;
    if (
      !Number.isInteger(expiresIn) ||
      expiresIn < 1 ||
      expiresIn > MAX_SIGNED_URL_EXPIRY_SECONDS
    ) {
      throw new StorageError(
        "InvalidArgument",
        `expiresIn must be a whole number of seconds from 1 to ${MAX_SIGNED_URL_EXPIRY_SECONDS}.`,
        { operation: "signedUrl", key },
      );
    }
  }

  /**
   * Shared argument check for drivers that offer `removeAbandonedUploads`: resolves the
   * moment before which an upload counts as abandoned.
   */
  protected abandonedBefore(options: RemoveAbandonedUploadsOptions): Date {
    const olderThanMs = (options as Partial<RemoveAbandonedUploadsOptions> | undefined)
      ?.olderThanMs;
    if (typeof olderThanMs !== "number" || !Number.isSafeInteger(olderThanMs) || olderThanMs < 0) {
      throw new StorageError(
        "InvalidArgument",
        "olderThanMs must be a whole, non-negative number of milliseconds.",
        { operation: "removeAbandonedUploads" },
      );
    }
    return new Date(Date.now() - olderThanMs);
  }

  protected translate(err: unknown, operation: string, key?: string): StorageError {
    return toStorageError(err, { operation, key, classify: (e) => this.classifyError(e) });
  }

  private async *iterate(
    prefix: string,
    pageSize: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ListEntry> {
    try {
      for await (const entry of this.listObjects(prefix, { pageSize, signal })) {
        // Objects other tools stored under names the key rules refuse ("photos/" folder
        // placeholders, ".hidden", "a//b") could never be read, stat'ed or deleted through
        // an adapter, so no adapter lists them.
        if (isValidKey(entry.key)) yield entry;
      }
    } catch (err) {
      throw this.translate(err, "list", prefix || undefined);
    }
  }

  /** The key rules, and that the backend's name (prefix + key) fits its limit. */
  #assertKey(key: string, operation: string): void {
    assertValidKey(key, operation);
    this.keyPrefix.assertFits(key, operation);
  }

  private validateWrite(
    key: string,
    body: Readable,
    options: WriteOptions,
  ): Omit<NormalizedWriteOptions, "signal"> {
    this.#assertKey(key, "write");
    if (!body || typeof (body as Partial<Readable>).pipe !== "function") {
      throw new StorageError("InvalidArgument", "The body must be a readable stream.", {
        operation: "write",
        key,
      });
    }
    const metadata = options.metadata ?? {};
    assertValidMetadata(metadata);
    const { contentLength, finalMetadata } = options;
    if (finalMetadata !== undefined && typeof finalMetadata !== "function") {
      throw new StorageError("InvalidArgument", "finalMetadata must be a function.", {
        operation: "write",
        key,
      });
    }
    if (
      contentLength !== undefined &&
      (!Number.isSafeInteger(contentLength) || contentLength < 0)
    ) {
      throw new StorageError("InvalidArgument", "contentLength must be a non-negative integer.", {
        operation: "write",
        key,
      });
    }
    return {
      contentType: options.contentType || DEFAULT_CONTENT_TYPE,
      contentDisposition: options.contentDisposition,
      contentLength,
      metadata: { ...metadata },
      finalMetadata: finalMetadata && memoizeFinalMetadata(finalMetadata),
    };
  }
}
