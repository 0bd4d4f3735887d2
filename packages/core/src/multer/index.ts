/**
 * A multer storage engine that streams each file part straight into a StorageAdapter:
 *
 *   multer({ storage: adapterStorage({ adapter, key: () => `uploads/${randomUUID()}` }) })
 *
 * Nothing is buffered beyond the streams' own high-water marks. The backend write is aborted
 * (and so leaves nothing behind) when the part fails, the client disconnects, the file passes
 * multer's `limits.fileSize`, or a caller-supplied signal fires; `_removeFile` deletes the
 * object when multer rejects the request after the file was stored (a later part failed).
 */
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { ObjectInfo, StorageAdapter, WriteOptions } from "../adapter.ts";
import type { Metadata } from "../metadata.ts";
import { StorageError } from "../errors.ts";
import { ByteMeter } from "./byte-meter.ts";

/** The fields multer gives a storage engine for each file part. */
export interface IncomingFile {
  fieldname: string;
  originalname: string;
  encoding: string;
  mimetype: string;
  stream: Readable;
}

/** What the engine learns about a file's bytes as they stream through. */
export interface FileContent {
  /** Bytes stored. */
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
}

/** What the engine adds to multer's file object once the object is stored. */
export interface StoredFileInfo {
  /** The key the object was stored under. */
  key: string;
  /** Bytes stored. */
  size: number;
  /** Hex SHA-256 of the bytes, computed while they streamed through. */
  sha256: string;
  /** The backend's description of the stored object. */
  object: ObjectInfo;
}

export type EngineWriteOptions = Omit<WriteOptions, "signal">;

export interface AdapterStorageOptions<Req extends IncomingMessage = IncomingMessage> {
  adapter: StorageAdapter;
  /** The key to store this file under; throwing (or rejecting) refuses the file. */
  key(req: Req, file: IncomingFile): string | Promise<string>;
  /** Content type, metadata… for this file. Defaults to the part's declared type. */
  writeOptions?(req: Req, file: IncomingFile): EngineWriteOptions | Promise<EngineWriteOptions>;
  /**
   * Metadata from what the file turned out to be (its size and SHA-256, counted as it
   * streamed): stored with the object, merged over `writeOptions().metadata`, through the
   * adapter's `finalMetadata`, so it is set before the object becomes visible where the
   * backend allows. Throwing refuses the file, leaving nothing stored.
   */
  finalMetadata?(req: Req, file: IncomingFile, content: FileContent): Metadata;
  /**
   * A further reason to abort, such as server shutdown. Client disconnects, part errors and
   * the size limit are watched already.
   */
  signal?(req: Req): AbortSignal | undefined;
}

type Callback<T> = (error: Error | null, info?: T) => void;

export class AdapterStorageEngine<Req extends IncomingMessage = IncomingMessage> {
  readonly #options: AdapterStorageOptions<Req>;

  constructor(options: AdapterStorageOptions<Req>) {
    if (!options?.adapter || typeof options.key !== "function") {
      throw new TypeError("adapterStorage needs an adapter and a key function.");
    }
    this.#options = options;
  }

  _handleFile(req: Req, file: IncomingFile, callback: Callback<StoredFileInfo>): void {
    this.store(req, file).then(
      (info) => callback(null, info),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  }

  _removeFile(
    _req: Req,
    file: IncomingFile & Partial<StoredFileInfo>,
    callback: Callback<never>,
  ): void {
    if (file.key === undefined) return callback(null);
    this.#options.adapter.delete(file.key).then(
      () => callback(null),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Streams one file part into the adapter; rejects (having stored nothing) on any failure. */
  async store(req: Req, file: IncomingFile): Promise<StoredFileInfo> {
    const { stream } = file;
    // Watched before any await: a disconnect or a size-limit hit while the key is being
    // computed must still cancel the write that follows.
    const part = watchPart(req, stream, this.#options.signal?.(req));
    try {
      const key = await this.#options.key(req, file);
      const writeOptions = (await this.#options.writeOptions?.(req, file)) ?? {
        contentType: file.mimetype,
      };
      part.signal.throwIfAborted();
      if (stream.destroyed) {
        throw new StorageError("Aborted", "The file part was destroyed before it was stored.", {
          operation: "write",
          key,
        });
      }
      // pipe, not pipeline: when the backend fails we stop reading the part and let multer
      // drain the request, instead of destroying multer's stream under it.
      const meter = new ByteMeter();
      stream.once("error", (err) => meter.destroy(err));
      stream.pipe(meter);
      const { finalMetadata } = this.#options;
      const object = await this.#options.adapter.write(key, meter, {
        ...writeOptions,
        ...(finalMetadata && {
          finalMetadata: () =>
            finalMetadata(req, file, { size: meter.bytes, sha256: meter.digest() }),
        }),
        signal: part.signal,
      });
      if ((stream as Readable & { truncated?: boolean }).truncated) {
        // The limit fired after the backend had already taken every byte: not ours to keep.
        await this.#options.adapter.delete(key).catch(() => {});
        throw new StorageError("Aborted", "The file exceeds the size limit.", {
          operation: "write",
          key,
        });
      }
      return { key, size: meter.bytes, sha256: meter.digest(), object };
    } catch (err) {
      // Keep the reason the write was aborted rather than the adapter's generic wrapper.
      const reason: unknown = part.signal.reason;
      if (reason instanceof StorageError && err instanceof StorageError && err.code === "Aborted") {
        throw new StorageError("Aborted", reason.message, {
          operation: "write",
          key: err.key,
          cause: err,
        });
      }
      throw err;
    } finally {
      part.dispose();
    }
  }
}

/** A part being stored, and why its write must stop. */
export interface WatchedPart {
  /** Aborted with a StorageError("Aborted") naming the reason. */
  readonly signal: AbortSignal;
  /** Stops watching; call once the write has settled. */
  dispose(): void;
}

/**
 * Watches a multer file part for the reasons its backend write must be abandoned: the part
 * passed `limits.fileSize` (busboy's "limit"), the client disconnected before the body
 * ended, or `extra` (shutdown, a stall) fired. Listeners go on at once, synchronously.
 */
export function watchPart(
  req: IncomingMessage,
  stream: Readable,
  extra?: AbortSignal,
): WatchedPart {
  const controller = new AbortController();
  const abort = (message: string) => () => {
    if (!controller.signal.aborted) {
      controller.abort(new StorageError("Aborted", message, { operation: "write" }));
    }
  };
  const onLimit = abort("The file exceeds the size limit.");
  const onDisconnect = abort("The client disconnected before the upload finished.");
  const onRequestClose = () => {
    if (!req.complete) onDisconnect();
  };
  const onExtraAbort = abort("The upload was cancelled.");
  stream.once("limit", onLimit);
  req.once("aborted", onDisconnect);
  req.once("close", onRequestClose);
  req.socket?.once("close", onDisconnect);
  extra?.addEventListener("abort", onExtraAbort, { once: true });
  if (extra?.aborted) onExtraAbort();
  return {
    signal: controller.signal,
    dispose() {
      stream.off("limit", onLimit);
      req.off("aborted", onDisconnect);
      req.off("close", onRequestClose);
      req.socket?.off("close", onDisconnect);
      extra?.removeEventListener("abort", onExtraAbort);
    },
  };
}

export function adapterStorage<Req extends IncomingMessage = IncomingMessage>(
  options: AdapterStorageOptions<Req>,
): AdapterStorageEngine<Req> {
  return new AdapterStorageEngine(options);
}

export { ByteMeter } from "./byte-meter.ts";
