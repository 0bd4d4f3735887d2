import type { NextFunction, Request, Response } from "express";
import { HttpError } from "../http/errors.ts";
import type { UploadHook } from "../upload/store.ts";
import type { Admission, RateLimit } from "./limiter.ts";

/** The 429 a refused request answers with; Retry-After says when the window reopens. */
export function rateLimited(admission: Admission & { allowed: false }, what: string): HttpError {
  return new HttpError("RATE_LIMITED", `Too many ${what}; try again later.`, {
    headers: { "Retry-After": String(admission.retryAfterSeconds) },
  });
}

/**
 * Counts each request against `limit` by client address. `req.ip` follows TRUST_PROXY: only
 * behind a trusted proxy does X-Forwarded-For name the client, so a client cannot dodge the
 * limit by sending that header itself.
 */
export function limitByClientAddress(limit: RateLimit | undefined, what: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!limit) return next();
    const key = req.ip ?? req.socket.remoteAddress ?? "unknown";
    limit.consume(key).then((admission) => {
      if (admission.allowed) return next();
      // The body is not read: the connection closes rather than draining an upload.
      res.set("Connection", "close");
      next(rateLimited(admission, what));
    }, next);
  };
}

/** The per-uid limit as a store-step hook: counted once the token checks out, before storage. */
export function uidRateLimitHook(limit: RateLimit): UploadHook {
  return {
    async admit(upload) {
      // Without a uid there is nobody to count; the per-address limit still applies.
      if (upload.fields.uid === undefined) return;
      const admission = await limit.consume(upload.fields.uid);
      if (!admission.allowed) throw rateLimited(admission, "uploads for this uid");
    },
  };
}
