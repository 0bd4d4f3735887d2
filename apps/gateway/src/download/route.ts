import type { Request, Response } from "express";
import { Router } from "express";
import {
  isStorageError,
  resolveRange,
  type ByteRange,
  type ObjectInfo,
  type ResolvedRange,
  type StorageAdapter,
} from "@mediagate/core";
import { HttpError } from "../http/errors.ts";
import { isObjectKey } from "../upload/keys.ts";
import { DOWNLOAD_PREFIX } from "../upload/public-url.ts";
import { noneMatch, notModifiedSince, parseRange, rangeStillValid } from "./conditional.ts";
import { objectHeaders, quotedEtag } from "./headers.ts";
import { redirectHandler, type RedirectOptions } from "./redirect.ts";

export interface DownloadRouteOptions {
  storage: StorageAdapter;
  /** DOWNLOAD_MODE=redirect: answer GET and HEAD with 302 to a signed URL instead. */
  redirect?: RedirectOptions | undefined;
}

const notFound = () => new HttpError("NOT_FOUND", "No such file.");
const corrupted = () =>
  new HttpError("INTERNAL", "The stored file is damaged and cannot be served.");

/**
 * Whether the object is as long as the gateway counted at upload (its `size` metadata). A
 * write cut short that still landed (a backend racing a cancelled write) must never be
 * served as if whole; objects without the record (written by other tools) are served.
 */
function wholeAsRecorded(info: ObjectInfo, req: Request): boolean {
  const recorded = info.metadata.size;
  if (recorded === undefined || Number(recorded) === info.size) return true;
  req.log.error(
    { key: info.key, size: info.size, recorded: Number(recorded) },
    "refused to serve an object whose size differs from the size recorded at upload",
  );
  return false;
}

/** GET and HEAD at the URLs uploads return. */
export function downloadRouter({ storage, redirect }: DownloadRouteOptions): Router {
  /** The key in the raw (undecoded) path: keys never need encoding, so nothing to decode. */
  const keyOf = (req: Request) => {
    const key = req.path.slice(DOWNLOAD_PREFIX.length);
    if (!isObjectKey(key)) throw notFound();
    return key;
  };

  /** Answers 416 for a range the object cannot satisfy. */
  const unsatisfiable = (size: number, cause?: unknown) =>
    new HttpError("RANGE_NOT_SATISFIABLE", "The requested range is outside the file.", {
      cause,
      headers: { "Content-Range": `bytes */${size}` },
    });

  /** Sends 304 when the client's copy is current; true when it did. */
  const answeredNotModified = (req: Request, res: Response, info: ObjectInfo) => {
    const headers = objectHeaders(info);
    const ifNoneMatch = req.headers["if-none-match"];
    const fresh = ifNoneMatch
      ? noneMatch(ifNoneMatch, quotedEtag(info))
      : notModifiedSince(req.get("if-modified-since"), info.lastModified);
    if (!fresh) return false;
    const { ["Content-Type"]: _type, ["Content-Disposition"]: _disposition, ...rest } = headers;
    res.status(304).set(rest).end();
    return true;
  };

  /** The range to serve, or undefined for the whole object (none asked, or If-Range stale). */
  const requestedRange = (req: Request, info: ObjectInfo | undefined): ByteRange | undefined => {
    const range = parseRange(req.headers.range);
    if (!range || !info) return range;
    return rangeStillValid(req.get("if-range"), `"${info.etag}"`, info.lastModified)
      ? range
      : undefined;
  };

  const sendHeaders = (res: Response, info: ObjectInfo, range: ResolvedRange | undefined) => {
    // setHeader, not Express's res.set, which would append a charset to the stored type.
    for (const [name, value] of Object.entries(objectHeaders(info))) res.setHeader(name, value);
    if (range) {
      res.status(206).set({
        "Content-Range": `bytes ${range.start}-${range.end}/${info.size}`,
        "Content-Length": String(range.end - range.start + 1),
      });
    } else {
      res.status(200).set("Content-Length", String(info.size));
    }
  };

  const get = async (req: Request, res: Response) => {
    const key = keyOf(req);
    const closed = new AbortController();
    res.once("close", () => closed.abort());
    // If-Range needs the object's validators, so such requests look the object up first.
    const known = req.headers["if-range"] ? await stat(storage, key) : undefined;
    const range = requestedRange(req, known);
    let result;
    try {
      result = await storage.read(key, { range, signal: closed.signal });
    } catch (err) {
      if (isStorageError(err, "NotFound")) throw notFound();
      if (!isStorageError(err, "InvalidRange")) throw err;
      const info = await stat(storage, key);
      if (answeredNotModified(req, res, info)) return;
      throw unsatisfiable(info.size, err);
    }
    const { info, body } = result;
    if (answeredNotModified(req, res, info) || !wholeAsRecorded(info, req)) {
      body.destroy();
      if (!res.headersSent) throw corrupted();
      return;
    }
    sendHeaders(res, info, result.range);
    // pipe rather than pipeline: a response already carries the logger's, the lifecycle's
    // and the server's listeners, and pipeline's would pass Node's warning threshold.
    body.once("error", (err) => {
      // The status line is gone; a cut connection is the only honest signal left.
      if (!closed.signal.aborted) req.log.warn({ err, key }, "download interrupted");
      res.destroy();
    });
    body.pipe(res);
  };

  const head = async (req: Request, res: Response) => {
    const key = keyOf(req);
    const info = await stat(storage, key);
    if (!wholeAsRecorded(info, req)) throw corrupted();
    if (answeredNotModified(req, res, info)) return;
    const range = requestedRange(req, info);
    let resolved: ResolvedRange | undefined;
    try {
      resolved = range && resolveRange(range, info.size, key);
    } catch (err) {
      throw unsatisfiable(info.size, err);
    }
    sendHeaders(res, info, resolved);
    res.end();
  };

  const router = Router();
  if (redirect) {
    const toSignedUrl = redirectHandler(redirect);
    const answer = (req: Request, res: Response) => toSignedUrl(req, res, keyOf(req));
    router.head(`${DOWNLOAD_PREFIX}*key`, answer);
    router.get(`${DOWNLOAD_PREFIX}*key`, answer);
    return router;
  }
  router.head(`${DOWNLOAD_PREFIX}*key`, head);
  router.get(`${DOWNLOAD_PREFIX}*key`, get);
  return router;
}

async function stat(storage: StorageAdapter, key: string): Promise<ObjectInfo> {
  try {
    return await storage.stat(key);
  } catch (err) {
    if (isStorageError(err, "NotFound")) throw notFound();
    throw err;
  }
}
