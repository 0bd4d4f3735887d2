import type { NextFunction, Request, Response } from "express";
import { Router } from "express";
import multer from "multer";
import type { Authenticator } from "../auth/authenticator.ts";
import type { DownloadConfig, UploadConfig } from "../config/load.ts";
import { HttpError, toHttpError } from "../http/errors.ts";
import { noteUpload } from "../http/logging.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { UploadEngine, type ReceivedFile } from "./engine.ts";
import { checkFields, sameFields } from "./fields.ts";
import { downloadUrl } from "./public-url.ts";
import type { Spool } from "./spool.ts";
import type { StoreStep, StoredUpload } from "./store.ts";

export interface UploadRouteOptions {
  config: UploadConfig;
  download: DownloadConfig;
  store: StoreStep;
  spool: Spool;
  authenticator: Authenticator;
  lifecycle: Lifecycle;
  /** How long a file that came before its fields waits for them (FIELDS_TIMEOUT). */
  fieldsTimeoutMs: number;
}

/** mesibo sends five short fields; room for a few more from future SDKs, no more. */
export const FORM_LIMITS = {
  fields: 16,
  parts: 17,
  files: 1,
  fieldNameSize: 64,
  fieldSize: 1024,
  headerPairs: 32,
  // Field names are plain: multer would read "x[2115992189]" as an array index, and a
  // following "x[k]" makes it copy that sparse array slot by slot into an object (a minute
  // of CPU for a 100-byte form, found by the fuzz suite). No mesibo field has brackets.
  fieldNestingDepth: 0,
} as const;
/** Upper bound of a form's bytes besides the file: fields, part headers, boundaries. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/** What an answered upload stored, for the request's one log line (see http/logging.ts). */
export interface UploadLogEntry {
  key: string;
  size: number;
  sha256: string;
  via: "storage" | "spool";
}

/** POST / and POST /upload: mesibo's upload contract. */
export function uploadRouter(options: UploadRouteOptions): Router {
  const { config, store, spool, authenticator, lifecycle } = options;
  const parse = multer({
    storage: new UploadEngine({
      store,
      spool,
      authenticator,
      lifecycle,
      fieldsTimeoutMs: options.fieldsTimeoutMs,
    }),
    limits: { ...FORM_LIMITS, fileSize: config.maxFileSize },
    // Clients write file names as raw UTF-8 (browsers, curl, OkHttp); busboy's default of
    // latin1 would turn "Résumé" into "RÃ©sumÃ©".
    defParamCharset: "utf8",
  }).any();

  const refuseWhileDraining = (_req: Request, res: Response, next: NextFunction) => {
    if (!lifecycle.draining) return next();
    res.set("Connection", "close");
    next(new HttpError("SHUTTING_DOWN", "The server is shutting down; try again."));
  };

  const requireMultipart = (req: Request, _res: Response, next: NextFunction) => {
    if (req.is("multipart/form-data")) return next();
    next(new HttpError("NOT_MULTIPART", "Send the upload as multipart/form-data."));
  };

  // A declared length that cannot fit is refused before reading a byte of it; closing the
  // connection spares the client sending the rest.
  const refuseOversizedBody = (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.headers["content-length"]);
    if (!(declared > config.maxFileSize + FORM_OVERHEAD_BYTES)) return next();
    res.set("Connection", "close");
    next(new HttpError("FILE_TOO_LARGE", "The file is larger than this server accepts."));
  };

  const parseForm = (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => (err ? next(toHttpError(err, { parsing: true })) : next()));
  };

  /** The form has ended: store a spooled file, then answer with the download URL. */
  const finish = async (req: Request, res: Response, next: NextFunction) => {
    const file = (req.files as ReceivedFile[] | undefined)?.[0];
    let stored: StoredUpload | undefined;
    let url: string | undefined;
    let failure: unknown;
    try {
      if (!file) throw new HttpError("MISSING_FILE", "The form has no file part.");
      if (file.via === "storage") stored = file.stored;
      const check = checkFields(req.body as Record<string, unknown>, authenticator, {
        final: true,
      });
      if (check.state === "invalid") throw check.error;
      if (check.state !== "ready") throw new Error("final field check left fields pending");
      // Fields that came after a stored file must not change what it was stored as.
      if (file.via === "storage" && !sameFields(check, file.checked)) {
        throw new HttpError(
          "BAD_REQUEST",
          "Fields sent after the file part changed it; send every field before the file.",
        );
      }
      const kept = file.via === "storage" ? file.stored : await storeSpooled(req, res, file, check);
      stored = kept;
      url = downloadUrl(req, options.download, kept.key);
    } catch (err) {
      failure = err;
      if (stored) void store.discard(stored);
    } finally {
      // Before answering, refusals included, so a spooled part never outlives its request
      // and its share of SPOOL_MAX_BYTES is free again once the client has its answer.
      if (file?.via === "spool") {
        await spool
          .remove(file.spooled)
          .catch((err: unknown) => req.log.warn({ err }, "could not remove a spooled part"));
      }
    }
    if (failure !== undefined || !file || !stored || url === undefined) {
      return next(toHttpError(failure ?? new Error("no stored upload")));
    }
    answer(res, stored, url, file.via);
  };

  async function storeSpooled(
    req: Request,
    res: Response,
    file: ReceivedFile & { via: "spool" },
    check: { auth: string; fields: StoredUpload["upload"]["fields"] },
  ): Promise<StoredUpload> {
    const gone = new AbortController();
    const onClose = () => gone.abort(new Error("The client disconnected."));
    res.once("close", onClose);
    const body = await spool.open(file.spooled);
    // Errors reach the store step while it reads; one after it stopped has nobody to tell.
    body.on("error", () => undefined);
    try {
      return await store.store({
        auth: check.auth,
        fields: check.fields,
        originalName: file.originalname,
        declaredType: file.mimetype,
        body,
        size: file.spooled.size,
        signal: gone.signal,
        progress: () => body.bytesRead,
        log: req.log,
      });
    } finally {
      body.destroy();
      res.off("close", onClose);
    }
  }

  function answer(
    res: Response,
    stored: StoredUpload,
    url: string,
    via: "storage" | "spool",
  ): void {
    noteUpload(res, { key: stored.key, size: stored.size, sha256: stored.sha256, via });
    res.once("close", () => {
      // The client never got the URL, so nobody could ever reference the object.
      if (!res.writableFinished) void store.discard(stored);
    });
    res.set("Cache-Control", "no-store").json({ result: true, url });
  }

  const router = Router();
  router.post(
    ["/", "/upload"],
    refuseWhileDraining,
    requireMultipart,
    refuseOversizedBody,
    parseForm,
    finish,
  );
  return router;
}
