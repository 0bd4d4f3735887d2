import type { Readable } from "node:stream";
import type { Metadata } from "./metadata.ts";
import type { ByteRange, ResolvedRange } from "./range.ts";

/** What a backend knows about one stored object. */
export interface ObjectInfo {
  key: string;
  /** Size of the whole object in bytes (also for ranged reads). */
  size: number;
  contentType: string;
  contentDisposition?: string;
  /**
   * Opaque validator without surrounding quotes; changes whenever the object's bytes
   * change. Callers quote it themselves for HTTP.
   */
  etag: string;
  lastModified: Date;
  /** User metadata, keys lowercase, values exactly as written. */
  metadata: Metadata;
}

/** What a listing yields: cheap fields only, since listings never fetch metadata. */
export interface ListEntry {
  key: string;
  size: number;
  lastModified: Date;
  etag?: string;
}

export interface WriteOptions {
  /** Stored and served back; defaults to `application/octet-stream`. */
  contentType?: string;
  contentDisposition?: string;
  /** The body's length when known up front; lets some backends choose a single request. */
  contentLength?: number;
  metadata?: Metadata;
  /**
   * Metadata known only once the body has ended (size, checksum): the adapter calls it after
   * the last body byte and before the object becomes visible where the backend allows, and
   * stores it merged over `metadata`, in constant time whatever the body's size (no copy of
   * the object). Where the backend cannot change an object's own metadata after it was
   * created (S3 multipart uploads) the adapter may keep the final keys beside it (S3 object
   * tags) and merge them back on stat and read; the ObjectInfo is the same either way.
   * Called at most once. Throwing, or returning metadata that breaks the rules once merged,
   * rejects the write with `InvalidArgument` and leaves nothing behind.
   */
  finalMetadata?: () => Metadata;
  /**
   * Aborting rejects the write with `Aborted` and leaves nothing behind: a request already
   * on its way that could create the object is allowed to settle (within a bound) before
   * the adapter removes what it made, so no object lands after the clean-up.
   */
  signal?: AbortSignal;
}

/** Write options as drivers receive them: defaults filled in, one signal for every cancel. */
export interface NormalizedWriteOptions {
  contentType: string;
  contentDisposition: string | undefined;
  contentLength: number | undefined;
  /** What is known when the write starts; drivers store `resolveFinalMetadata(options)`. */
  metadata: Metadata;
  /** Memoized: calling it again returns (or throws) what the first call did. */
  finalMetadata: (() => Metadata) | undefined;
  signal: AbortSignal;
}

export interface ReadOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

export interface ReadResult {
  info: ObjectInfo;
  /** The requested bytes; the caller must consume or destroy it. */
  body: Readable;
  /** The bytes `body` carries, when a range was requested. */
  range?: ResolvedRange;
}

export interface ListOptions {
  /** Objects fetched per backend request; listings paginate lazily page by page. */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface OperationOptions {
  signal?: AbortSignal;
}

/**
 * The contract every storage backend implements. Keys follow the rules in `keys.ts`;
 * every failure is a StorageError.
 */
export interface StorageAdapter {
  /** Short backend name for logs: "fs", "s3", "gcs", "azure". */
  readonly name: string;
  /**
   * Streams `body` into the object and resolves once it is durable. On error or abort it
   * rejects and leaves nothing behind: no object, no partial file, no open upload.
   */
  write(key: string, body: Readable, options?: WriteOptions): Promise<ObjectInfo>;
  /** Streams the object or an inclusive byte range of it. */
  read(key: string, options?: ReadOptions): Promise<ReadResult>;
  stat(key: string, options?: OperationOptions): Promise<ObjectInfo>;
  /** Removes the object; succeeds when it is already gone. */
  delete(key: string, options?: OperationOptions): Promise<void>;
  /** Objects whose key starts with `prefix`, in key order, fetched lazily page by page. */
  list(prefix?: string, options?: ListOptions): AsyncIterable<ListEntry>;
  /** Resolves when the backend is reachable and the bucket/container/folder is usable. */
  check(options?: OperationOptions): Promise<void>;
}

/** SigV4 and GCS v4 signatures, and Azure user-delegation SAS, all stop at seven days. */
export const MAX_SIGNED_URL_EXPIRY_SECONDS = 7 * 24 * 60 * 60;

export interface SignedUrlOptions {
  /** Seconds the URL stays valid; at most MAX_SIGNED_URL_EXPIRY_SECONDS. */
  expiresIn: number;
  /** Content-Disposition the backend answers with when the URL is fetched. */
  contentDisposition?: string;
  /** Content-Type the backend answers with when the URL is fetched. */
  contentType?: string;
}

/** Optional capability: a time-limited URL anyone can GET the object from. */
export interface SignedUrlCapable {
  signedUrl(key: string, options: SignedUrlOptions): Promise<string>;
}

/** Whether this adapter can sign URLs; ask before calling `signedUrl`. */
export function supportsSignedUrls<A extends StorageAdapter>(
  adapter: A,
): adapter is A & SignedUrlCapable {
  return typeof (adapter as Partial<SignedUrlCapable>).signedUrl === "function";
}

export interface RemoveAbandonedUploadsOptions {
  /**
   * Only uploads begun at least this many milliseconds ago are removed. Choose a bound well
   * above the longest upload any process sharing the bucket may still be running (a day):
   * anything younger may be another instance's upload in progress.
   */
  olderThanMs: number;
  signal?: AbortSignal;
}

export interface RemoveAbandonedUploadsResult {
  /** Abandoned uploads found and removed. */
  removed: number;
}

/**
 * Optional capability: remove what writes left on the backend when their process died
 * mid-upload (S3 multipart uploads, Azure uncommitted blocks), which the backend keeps, and
 * may bill, though no object shows it. Only uploads under the adapter's prefix are touched.
 */
export interface AbandonedUploadsCapable {
  removeAbandonedUploads(
    options: RemoveAbandonedUploadsOptions,
  ): Promise<RemoveAbandonedUploadsResult>;
}

/** Whether this adapter can find and remove abandoned uploads; ask before calling. */
export function supportsAbandonedUploadRemoval<A extends StorageAdapter>(
  adapter: A,
): adapter is A & AbandonedUploadsCapable {
  return typeof (adapter as Partial<AbandonedUploadsCapable>).removeAbandonedUploads === "function";
}
