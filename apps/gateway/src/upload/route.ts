import type { NextFunction, Request, Response } from "express";
import { Router } from "express";
import multer from "multer";
import type { Logger } from "pino";
import type { StorageAdapter } from "@mediagate/core";
import { authenticateOnce, type Authenticator } from "../auth/authenticator.ts";
import { HttpError, toHttpError } from "../http/errors.ts";
import { logStoredUpload } from "../http/logging.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { ByteMeter } from "@mediagate/core/multer";
import { UploadEngine, storageTimeout, type ReceivedFile } from "./engine.ts";
import { decideContentType, spooledHead } from "./sniff.ts";
import { checkFields, type UploadFields } from "./fields.ts";
import { newObjectKey } from "./keys.ts";
import { contentMetadata, objectMetadata } from "./metadata.ts";
import { storedDisposition } from "./disposition.ts";
import { readableProbe, watchForStall } from "./stall-watch.ts";
import { downloadUrl, type PublicUrlOptions } from "./public-url.ts";

export interface UploadRouteOptions extends PublicUrlOptions {
  storage: StorageAdapter;
  spool: StorageAdapter;
  authenticator: Authenticator;
  maxFileSize: number;
  allowedTypes: readonly string[] | undefined;
  idleTimeoutMs: number;
  /** See UploadEngineOptions.storageTimeoutMs. */
  storageTimeoutMs?: number;
  lifecycle: Lifecycle;
  /** The per-uid rate limit; see UploadEngineOptions.admit. */
  admit?: (fields: UploadFields) => Promise<HttpError | undefined>;
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

/** POST / and POST /upload: mesibo's upload contract. */
export function uploadRouter(options: UploadRouteOptions): Router {
  const { storage, spool, authenticator, lifecycle } = options;
  const engine = new UploadEngine({
    storage,
    spool,
    authenticator,
    allowedTypes: options.allowedTypes,
    lifecycle,
    admit: options.admit,
    storageTimeoutMs: options.storageTimeoutMs,
  });
  const parse = multer({
    storage: engine,
    limits: { ...FORM_LIMITS, fileSize: options.maxFileSize },
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
    if (!(declared > options.maxFileSize + FORM_OVERHEAD_BYTES)) return next();
    res.set("Connection", "close");
    next(new HttpError("FILE_TOO_LARGE", "The file is larger than this server accepts."));
  };

  const parseForm = (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => (err ? next(toHttpError(err, { parsing: true })) : next()));
  };

  const finish = async (req: Request, res: Response, next: NextFunction) => {
    const file = (req.files as ReceivedFile[] | undefined)?.[0];
    let stored: { key: string; size: number; sha256: string } | undefined;
    let url: string | undefined;
    let failure: HttpError | undefined;
    try {
      if (!file) throw new HttpError("MISSING_FILE", "The form has no file part.");
      if (file.via === "storage") stored = { key: file.key, size: file.size, sha256: file.sha256 };
      const check = checkFields(req.body as Record<string, unknown>, authenticator, {
        final: true,
      });
      if (check.state === "invalid") throw check.error;
      if (check.state !== "ready") throw new Error("final field check left fields pending");
      // A directly stored part was authenticated with these same fields: asked once.
      const denied = await authenticateOnce(req, authenticator, {
        auth: check.auth,
        ...check.fields,
      });
      if (denied) throw denied;
      if (file.via === "spool") {
        const head = await spooledHead(spool, file.spoolKey, file.size);
        const type = await decideContentType(head, file.mimetype, options.allowedTypes);
        if (typeof type !== "string") throw type;
        const refusal = await options.admit?.(check.fields);
        if (refusal) throw refusal;
        stored = await commitSpooled(req, res, file, check.fields, type);
      }
      if (!stored) throw new Error("no stored object");
      url = downloadUrl(req, options, stored.key);
    } catch (err) {
      if (stored) removeQuietly(storage, stored.key, req.log);
      failure = toHttpError(err);
    } finally {
      // Before answering, refusals included, so a spooled part never outlives its request
      // and its share of SPOOL_MAX_BYTES is free again once the client has its answer.
      if (file?.via === "spool")
        await spool
          .delete(file.spoolKey)
          .catch((err: unknown) => req.log.warn({ err }, "could not remove a spooled part"));
    }
    if (failure) return next(failure);
    if (!file || !stored || url === undefined) return next(new Error("no stored object"));
    const { key, size, sha256 } = stored;
    logStoredUpload(res, { key, size, sha256, via: file.via });
    res.once("close", () => {
      // The client never got the URL, so nobody could ever reference the object.
      if (!res.writableFinished) removeQuietly(storage, key, req.log);
    });
    res.set("Cache-Control", "no-store").json({ result: true, url });
  };

  async function commitSpooled(
    req: Request,
    res: Response,
    file: ReceivedFile & { via: "spool" },
    fields: UploadFields,
    contentType: string,
  ) {
    // The client has sent everything and waits: the idle timer must not fire while the
    // gateway itself is busy copying a large spooled file into storage.
    req.socket.setTimeout(0);
    res.once("finish", () => req.socket.setTimeout(options.idleTimeoutMs));
    const gone = new AbortController();
    const onClose = () => gone.abort(new Error("The client disconnected."));
    res.once("close", onClose);
    const endWork = lifecycle.beginWork();
    let stopWatch = () => {};
    try {
      const key = newObjectKey(file.originalname);
      const { body } = await spool.read(file.spoolKey);
      const counted = new ByteMeter();
      body.once("error", (err) => counted.destroy(err));
      // The adapter may drop its end early (a failed write): the spool file must close anyway.
      counted.once("close", () => body.destroy());
      const watch = options.storageTimeoutMs
        ? watchForStall(
            readableProbe(body, () => counted.bytes),
            options.storageTimeoutMs,
          )
        : undefined;
      stopWatch = () => watch?.stop();
      const described = objectMetadata(fields, file.originalname);
      try {
        await storage.write(key, body.pipe(counted), {
          contentType,
          contentDisposition: storedDisposition(contentType, described),
          contentLength: file.size,
          metadata: { ...described, ...contentMetadata(file) },
          signal: AbortSignal.any([
            gone.signal,
            lifecycle.signal,
            ...(watch ? [watch.signal] : []),
          ]),
        });
      } catch (err) {
        if (watch?.stalled) throw storageTimeout(watch, err);
        throw err;
      }
      return { key, size: file.size, sha256: file.sha256 };
    } finally {
      stopWatch();
      endWork();
      res.off("close", onClose);
    }
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

function removeQuietly(adapter: StorageAdapter, key: string, log: Logger): void {
  adapter.delete(key).catch((err: unknown) => log.warn({ err, key }, "could not remove an object"));
}
