import type { NextFunction, Request, Response } from "express";

/**
 * CORS for web apps on other origins (CORS_ORIGINS): uploads from mesibo's JavaScript API
 * or an app's own upload handler, and downloads by `fetch`. Preflights (an XHR with an
 * upload progress listener always sends one) are answered here; actual answers, refusals
 * included, carry the headers a page needs to read them. A disallowed origin gets no CORS
 * headers at all (the browser then hides the answer), never an error.
 */
export interface CorsConfig {
  /** Allowed origins, or "*" for any. */
  origins: readonly string[] | "*";
}

/** What a preflight may ask for: a byte range, conditional downloads, the form's type. */
const ALLOWED_HEADERS = [
  "Range",
  "If-None-Match",
  "If-Range",
  "If-Modified-Since",
  "Content-Type",
  "Authorization",
  "X-Request-Id",
].join(", ");
/** What a page may read from an answer besides the CORS-safelisted headers. */
const EXPOSED_HEADERS = [
  "Content-Range",
  "Content-Length",
  "Accept-Ranges",
  "ETag",
  "Content-Disposition",
  "Retry-After",
  "X-Request-Id",
].join(", ");
/** Chromium caps a preflight's cache at two hours; Firefox at a day. */
const MAX_AGE_SECONDS = 7200;

/**
 * The methods each route answers: everything else is 405 for a preflight, and an
 * OPTIONS without CORS gets the same list as JSON.
 */
export function methodsFor(path: string): string | undefined {
  if (path === "/" || path === "/upload") return "POST";
  if (path.startsWith("/files/")) return "GET, HEAD";
  return undefined;
}

export function cors(config: CorsConfig | undefined) {
  const allowed = (origin: string) =>
    config !== undefined && (config.origins === "*" || config.origins.includes(origin));
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    // Answers differ by Origin, so caches must key on it (downloads are cached for a year).
    if (config) res.vary("Origin");
    const methods = methodsFor(req.path);
    const preflight =
      req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (typeof origin !== "string" || !allowed(origin) || !methods) {
      if (req.method === "OPTIONS") return answerOptions(res, methods);
      return next();
    }
    res.set("Access-Control-Allow-Origin", config?.origins === "*" ? "*" : origin);
    if (!preflight) {
      res.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
      if (req.method === "OPTIONS") return answerOptions(res, methods);
      return next();
    }
    res
      .status(204)
      .set({
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": String(MAX_AGE_SECONDS),
        "Cache-Control": "no-store",
      })
      .end();
  };
}

/** OPTIONS that is not an allowed preflight: the route's methods, in the JSON shape. */
function answerOptions(res: Response, methods: string | undefined): void {
  if (!methods) {
    res
      .status(404)
      .set("Cache-Control", "no-store")
      .json({
        result: false,
        error: { code: "NOT_FOUND", message: "Not found." },
      });
    return;
  }
  res
    .status(200)
    .set({ Allow: `${methods}, OPTIONS`, "Cache-Control": "no-store" })
    .json({ result: true, methods: [...methods.split(", "), "OPTIONS"] });
}
