import { randomBytes } from "node:crypto";
import type { Request } from "express";
import type { ObjectInfo, StorageAdapter } from "@mediagate/core";
import { adapterStorage, type IncomingFile, type StoredFileInfo } from "@mediagate/core/multer";
import { authenticateOnce, type Authenticator } from "../auth/authenticator.ts";
import { HttpError } from "../http/errors.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { normalizeContentType } from "./content-type.ts";
import { decideContentType, peekStream } from "./sniff.ts";
import { checkFields, type UploadFields } from "./fields.ts";
import { newObjectKey } from "./keys.ts";
import { contentMetadata, objectMetadata } from "./metadata.ts";
import { storedDisposition } from "./disposition.ts";
import { readableProbe, watchForStall, type StallWatch } from "./stall-watch.ts";

/** A file part streamed straight into storage: its fields had all arrived and checked out. */
export interface StoredPart {
  via: "storage";
  key: string;
  size: number;
  sha256: string;
  object: ObjectInfo;
  fields: UploadFields;
}

/** A file part that came before its fields, parked on local disk until they authenticate. */
export interface SpooledPart {
  via: "spool";
  spoolKey: string;
  size: number;
  sha256: string;
}

export type ReceivedFile = IncomingFile & (StoredPart | SpooledPart);

export interface UploadEngineOptions {
  storage: StorageAdapter;
  /** Local-disk store for parts that arrive before the fields that authenticate them. */
  spool: StorageAdapter;
  authenticator: Authenticator;
  allowedTypes: readonly string[] | undefined;
  /** Shutdown coordination: aborts in-flight writes at the deadline and waits for them. */
  lifecycle: Pick<Lifecycle, "signal" | "beginWork">;
  /**
   * Last word on authenticated fields before the file goes to storage (the per-uid rate
   * limit): resolves with the error to refuse with, or undefined to go ahead.
   */
  admit?: (fields: UploadFields) => Promise<HttpError | undefined>;
  /** A write into storage that makes no progress this long is given up (STORAGE_TIMEOUT). */
  storageTimeoutMs?: number;
}

/** Where spooled parts are kept in the spool store. */
export const SPOOL_PREFIX = "spool/";

type Callback<T> = (error: Error | null, info?: T) => void;

/**
 * multer storage engine for the upload route. When a file part arrives, the fields received
 * so far decide where it goes:
 * - all present and valid (the token checks out): streamed into storage;
 * - a present field is wrong (bad token, bad uid…): refused at once, nothing stored;
 * - some not arrived yet: spooled to local disk (bounded by the size limit, and with every
 *   other spooled part by SPOOL_MAX_BYTES, see spool-budget.ts), because no unauthenticated
 *   byte may reach storage. The route uploads it once the fields check out.
 */
export class UploadEngine {
  readonly #options: UploadEngineOptions;
  readonly #direct;
  readonly #spool;
  /** The fields each directly stored part was checked against, for its metadata. */
  readonly #fields = new WeakMap<IncomingFile, UploadFields>();
  /** The type each directly stored part was found to be (its first bytes, ALLOWED_TYPES). */
  readonly #types = new WeakMap<IncomingFile, string>();
  /** The stall watch of each request's direct write (one file per request). */
  readonly #stallWatches = new WeakMap<Request, StallWatch>();

  constructor(options: UploadEngineOptions) {
    this.#options = options;
    const signal = () => options.lifecycle.signal;
    this.#direct = adapterStorage<Request>({
      adapter: options.storage,
      signal: (req) => {
        const watch = this.#stallWatches.get(req);
        return watch ? AbortSignal.any([options.lifecycle.signal, watch.signal]) : signal();
      },
      key: (_req, file) => newObjectKey(file.originalname),
      writeOptions: (_req, file) => {
        const fields = this.#fields.get(file);
        if (!fields) throw new Error("a part reached storage without checked fields");
        const contentType = this.#types.get(file) ?? normalizeContentType(file.mimetype);
        const metadata = objectMetadata(fields, file.originalname);
        return {
          contentType,
          contentDisposition: storedDisposition(contentType, metadata),
          metadata,
        };
      },
      finalMetadata: (_req, _file, content) => contentMetadata(content),
    });
    this.#spool = adapterStorage<Request>({
      adapter: options.spool,
      signal,
      key: () => `${SPOOL_PREFIX}${randomBytes(16).toString("hex")}`,
      writeOptions: () => ({}),
    });
  }

  _handleFile(req: Request, file: IncomingFile, done: Callback<StoredPart | SpooledPart>): void {
    const endWork = this.#options.lifecycle.beginWork();
    const callback: Callback<StoredPart | SpooledPart> = (err, info) => {
      endWork();
      done(err, info);
    };
    const check = checkFields(req.body as Record<string, unknown>, this.#options.authenticator, {
      final: false,
    });
    if (check.state === "invalid") return callback(check.error);
    if (check.state === "incomplete") {
      return this.#spool._handleFile(req, file, (err, info) =>
        err || !info
          ? callback(err ?? new Error("spool stored nothing"))
          : callback(null, {
              via: "spool",
              spoolKey: info.key,
              size: info.size,
              sha256: info.sha256,
            }),
      );
    }
    this.#fields.set(file, check.fields);
    const store = () => {
      const watch = this.#watchStall(req, file);
      this.#direct._handleFile(req, file, (err, info?: StoredFileInfo) => {
        watch?.stop();
        if (err && watch?.stalled) return callback(storageTimeout(watch, err));
        return err || !info
          ? callback(err ?? new Error("storage stored nothing"))
          : callback(null, { via: "storage", ...info, fields: check.fields });
      });
    };
    const { admit } = this.#options;
    const vetted = async () =>
      (await this.#authenticateAndType(req, file, check)) ?? (await admit?.(check.fields));
    vetted().then(
      (refusal) => (refusal ? callback(refusal) : store()),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /**
   * Authenticates the fields (the webhook may be asked), then peeks at the file's first bytes
   * to decide its stored type under ALLOWED_TYPES; resolves with the refusal, if any.
   */
  async #authenticateAndType(
    req: Request,
    file: IncomingFile,
    check: { fields: UploadFields; auth: string },
  ): Promise<HttpError | undefined> {
    const refusal = await authenticateOnce(req, this.#options.authenticator, {
      auth: check.auth,
      ...check.fields,
    });
    if (refusal) return refusal;
    const peeked = await peekStream(file.stream);
    // multer defines `stream` read-only (but configurable); a part that ended within the
    // peek continues as a fresh stream of its bytes.
    if (peeked.stream !== file.stream) {
      Object.defineProperty(file, "stream", { configurable: true, value: peeked.stream });
    }
    const type = await decideContentType(peeked.head, file.mimetype, this.#options.allowedTypes);
    if (typeof type !== "string") return type;
    this.#types.set(file, type);
    return undefined;
  }

  /**
   * The backend stalling shows as the part's stream held back by backpressure (or ended and
   * awaiting the backend's answer) while no byte arrives from the client socket.
   */
  #watchStall(req: Request, file: IncomingFile): StallWatch | undefined {
    const timeoutMs = this.#options.storageTimeoutMs;
    if (!timeoutMs) return undefined;
    const socket = req.socket;
    const watch = watchForStall(
      readableProbe(file.stream, () => socket.bytesRead),
      timeoutMs,
    );
    this.#stallWatches.set(req, watch);
    return watch;
  }

  _removeFile(
    req: Request,
    file: IncomingFile & { via?: string; key?: string; spoolKey?: string },
    callback: Callback<never>,
  ): void {
    if (file.via === "spool")
      this.#spool._removeFile(req, { ...file, key: file.spoolKey }, callback);
    else this.#direct._removeFile(req, file, callback);
  }
}

/** The answer when the backend stopped making progress: 504, whatever the adapter said. */
export function storageTimeout(watch: StallWatch, cause: unknown): HttpError {
  const reason: unknown = watch.signal.reason;
  const message = reason instanceof Error ? reason.message : "The storage backend timed out.";
  return new HttpError("STORAGE_TIMEOUT", `${message} Try again later.`, { cause });
}
