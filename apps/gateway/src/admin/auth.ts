import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { HttpError } from "../http/errors.ts";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * ADMIN_TOKENS as bearer tokens (several, for rotation). Every token is compared, in
 * constant time over fixed-length digests, whatever matches; the admin is then named by the
 * token's position (`admin:2`) in logs and the audit trail, never by the token.
 */
export function adminAuth(tokens: readonly string[]) {
  const digests = tokens.map(digest);
  const which = (candidate: string): number => {
    const given = digest(candidate);
    let found = -1;
    digests.forEach((expected, i) => {
      if (timingSafeEqual(given, expected)) found = i;
    });
    return found;
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const index = match?.[1] ? which(match[1]) : -1;
    if (index < 0) {
      res.set("WWW-Authenticate", 'Bearer realm="mediagate-admin"');
      return next(
        new HttpError("UNAUTHORIZED", "An admin token is required (Authorization: Bearer …)."),
      );
    }
    res.locals.admin = `admin:${index + 1}`;
    next();
  };
}
