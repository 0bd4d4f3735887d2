import type { NextFunction, Request, Response } from "express";
import { HttpError } from "../http/errors.ts";
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
