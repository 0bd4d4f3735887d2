import type { Request, Response } from "express";
import { isStorageError, type SignedUrlCapable, type StorageAdapter } from "@mediagate/core";
import { HttpError } from "../http/errors.ts";
import { objectHeaders } from "./headers.ts";

export interface RedirectOptions {
  storage: StorageAdapter & SignedUrlCapable;
  /** How long each signed URL stays valid, in seconds. */
  ttlSeconds: number;
}

/**
 * DOWNLOAD_MODE=redirect: the stable download URL answers 302 to a fresh signed URL, so the
 * bytes flow from the backend, not through the gateway. The signed URL makes the backend
 * answer with the content type and Content-Disposition the proxy mode would send, so HTML or
 * SVG still downloads as an attachment. The 302 itself is never cached: a cached redirect
 * would outlive the URL it points to.
 */
export function redirectHandler({ storage, ttlSeconds }: RedirectOptions) {
  return async (req: Request, res: Response, key: string): Promise<void> => {
    let info;
    try {
      info = await storage.stat(key);
    } catch (err) {
      if (isStorageError(err, "NotFound")) throw new HttpError("NOT_FOUND", "No such file.");
      throw err;
    }
    const headers = objectHeaders(info);
    const location = await storage.signedUrl(key, {
      expiresIn: ttlSeconds,
      contentType: headers["Content-Type"],
      contentDisposition: headers["Content-Disposition"],
    });
    res
      .status(302)
      .set({ Location: location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" })
      .end();
    req.log.debug({ key }, "redirected to a signed URL");
  };
}
