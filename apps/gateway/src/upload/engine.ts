import type { Request } from "express";
import { watchPart, type IncomingFile } from "@mediagate/core/multer";
import type { Authenticator } from "../auth/authenticator.ts";
import { HttpError } from "../http/errors.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { cutUpload } from "./pace.ts";
import { checkFields, type UploadFields } from "./fields.ts";
import type { Spool, SpooledFile } from "./spool.ts";
import type { StoreStep, StoredUpload } from "./store.ts";

/** What the engine made of the form's one file part; multer merges it into `req.files[0]`. */
export type ReceivedPart = { size: number } &
  /** Its fields had all arrived and checked out: it streamed through the store step. */
  (
    | { via: "storage"; stored: StoredUpload; checked: { auth: string; fields: UploadFields } }
    /** It came before its fields: parked on local disk until they authenticate it. */
    | { via: "spool"; spooled: SpooledFile }
  );

export type ReceivedFile = IncomingFile & ReceivedPart;

type Callback<T> = (error: Error | null, info?: T) => void;

export interface UploadEngineOptions {
  store: StoreStep;
  spool: Spool;
  /** Screens the token as soon as it is there, before a byte is spooled. */
  authenticator: Pick<Authenticator, "screen">;
  lifecycle: Pick<Lifecycle, "signal" | "beginWork">;
  fieldsTimeoutMs: number;
}

/**
 * The upload route's multer storage engine. When the file part arrives, the fields received
 * so far decide where it goes:
 * - all present and well-formed: through the store step (which authenticates) into storage;
 * - a present field is wrong (bad token, bad uid…): refused at once, nothing kept;
 * - some not arrived yet: spooled, because no unauthenticated byte may reach storage; the
 *   route feeds the spooled file to the same store step once the fields are in.
 * Everything about a part travels in multer's file object; the engine keeps no state.
 */
export class UploadEngine {
  readonly #options: UploadEngineOptions;

  constructor(options: UploadEngineOptions) {
    this.#options = options;
  }

  _handleFile(req: Request, file: IncomingFile, done: Callback<ReceivedPart>): void {
    const { store, spool, lifecycle } = this.#options;
    const part = watchPart(req, file.stream, lifecycle.signal);
    const callback: Callback<ReceivedPart> = (err, info) => {
      part.dispose();
      done(err, info);
    };
    const check = checkFields(req.body as Record<string, unknown>, this.#options.authenticator, {
      final: false,
    });
    if (check.state === "invalid") return callback(check.error);
    if (check.state === "incomplete") {
      const endWork = lifecycle.beginWork();
      spool
        .write(file.stream, part.signal)
        .then(
          (spooled) => {
            this.#awaitFields(req);
            callback(null, { via: "spool", spooled, size: spooled.size });
          },
          (err: unknown) => callback(asError(err)),
        )
        .finally(endWork);
      return;
    }
    const socket = req.socket;
    store
      .store({
        auth: check.auth,
        fields: check.fields,
        originalName: file.originalname,
        declaredType: file.mimetype,
        body: file.stream,
        size: undefined,
        sizeHint: declaredLength(req),
        signal: part.signal,
        progress: () => socket.bytesRead,
        log: req.log,
      })
      .then(
        (stored) => callback(null, { via: "storage", stored, checked: check, size: stored.size }),
        (err: unknown) => callback(asError(err)),
      );
  }

  /**
   * A spooled file holds a descriptor's worth of disk until its fields come: bounded, so a
   * client cannot park files and trickle the rest of the form forever.
   */
  #awaitFields(req: Request): void {
    if (req.complete) return;
    const timer = setTimeout(() => {
      if (req.complete) return;
      cutUpload(
        req,
        new HttpError("FIELDS_TIMEOUT", "The form's fields did not follow its file in time."),
      );
    }, this.#options.fieldsTimeoutMs);
    timer.unref();
    req.once("end", () => clearTimeout(timer));
    req.once("close", () => clearTimeout(timer));
  }

  /** multer refused the request after this part was kept (a later part failed). */
  _removeFile(
    _req: Request,
    file: IncomingFile & Partial<ReceivedPart>,
    callback: Callback<never>,
  ): void {
    const removal =
      file.via === "spool" && file.spooled
        ? this.#options.spool.remove(file.spooled)
        : file.via === "storage" && file.stored
          ? this.#options.store.discard(file.stored)
          : Promise.resolve();
    removal.then(
      () => callback(null),
      (err: unknown) => callback(asError(err)),
    );
  }
}

/** The request's declared length: an upper bound of its file's (chunked requests have none). */
function declaredLength(req: Request): number | undefined {
  const length = Number(req.headers["content-length"]);
  return Number.isSafeInteger(length) && length > 0 ? length : undefined;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
