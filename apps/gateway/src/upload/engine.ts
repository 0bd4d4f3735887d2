import { randomBytes } from "node:crypto";
import type { Request } from "express";
import type { ObjectInfo, StorageAdapter } from "@mediagate/core";
import { adapterStorage, type IncomingFile, type StoredFileInfo } from "@mediagate/core/multer";
import type { TokenVerifier } from "../auth/tokens.ts";
import { HttpError } from "../http/errors.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { isAllowedType, normalizeContentType } from "./content-type.ts";
import { checkFields, type UploadFields } from "./fields.ts";
import { newObjectKey } from "./keys.ts";
import { objectMetadata } from "./metadata.ts";

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
  tokens: TokenVerifier;
  allowedTypes: readonly string[] | undefined;
  /** Shutdown coordination: aborts in-flight writes at the deadline and waits for them. */
  lifecycle: Pick<Lifecycle, "signal" | "beginWork">;
}

/** Where spooled parts are kept in the spool store. */
export const SPOOL_PREFIX = "spool/";

type Callback<T> = (error: Error | null, info?: T) => void;

/**
 * multer storage engine for the upload route. When a file part arrives, the fields received
 * so far decide where it goes:
 * - all present and valid (the token checks out): streamed into storage;
 * - a present field is wrong (bad token, bad uid…): refused at once, nothing stored;
 * - some not arrived yet: spooled to local disk (bounded by the size limit), because no
 *   unauthenticated byte may reach storage. The route uploads it once the fields check out.
 */
export class UploadEngine {
  readonly #options: UploadEngineOptions;
  readonly #direct;
  readonly #spool;
  /** The fields each directly stored part was checked against, for its metadata. */
  readonly #fields = new WeakMap<IncomingFile, UploadFields>();

  constructor(options: UploadEngineOptions) {
    this.#options = options;
    const signal = () => options.lifecycle.signal;
    this.#direct = adapterStorage<Request>({
      adapter: options.storage,
      signal,
      key: (_req, file) => newObjectKey(file.originalname),
      writeOptions: (_req, file) => {
        const fields = this.#fields.get(file);
        if (!fields) throw new Error("a part reached storage without checked fields");
        return {
          contentType: normalizeContentType(file.mimetype),
          metadata: objectMetadata(fields, file.originalname),
        };
      },
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
    const check = checkFields(req.body as Record<string, unknown>, this.#options.tokens, {
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
    const type = normalizeContentType(file.mimetype);
    if (!isAllowedType(type, this.#options.allowedTypes)) return callback(unsupportedType(type));
    this.#fields.set(file, check.fields);
    this.#direct._handleFile(req, file, (err, info?: StoredFileInfo) =>
      err || !info
        ? callback(err ?? new Error("storage stored nothing"))
        : callback(null, { via: "storage", ...info, fields: check.fields }),
    );
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

export function unsupportedType(type: string): HttpError {
  return new HttpError("UNSUPPORTED_MEDIA_TYPE", `Files of type ${type} are not accepted here.`);
}
