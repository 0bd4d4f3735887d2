import type { NextFunction, Request, Response } from "express";
import { Router } from "express";
import type { StorageAdapter } from "@mediagate/core";
import { adminAuth } from "../admin/auth.ts";
import type { GatewayConfig } from "../config/load.ts";
import type { Custody } from "../custody/index.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { StatusAssets, type Asset } from "./assets.ts";
import { UploadCounter } from "./counter.ts";
import { StatusReport } from "./report.ts";

export interface StatusRouteOptions {
  config: GatewayConfig;
  storage: StorageAdapter;
  custody: Custody;
  lifecycle: Lifecycle;
}

/** Scripts and styles from this origin's files only; nothing inline, nothing framed. */
export const STATUS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function secure(res: Response): void {
  res.set({
    "Content-Security-Policy": STATUS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
  });
}

/** Static files: revalidated each time (cheap, by ETag), so an upgrade shows at once. */
function sendAsset(req: Request, res: Response, asset: Asset): void {
  secure(res);
  res.set({ "Cache-Control": "no-cache", ETag: asset.etag, "Content-Type": asset.type });
  if (req.headers["if-none-match"] === asset.etag) {
    res.status(304).end();
    return;
  }
  res.send(asset.body);
}

/**
 * The status page: `GET /` for browsers (uploads stay `POST /`), its files under
 * `/status/`, and its figures at `/status.json`. Outside production it is open; in
 * production the page is public but the figures need an ADMIN_TOKENS bearer token, and
 * without ADMIN_TOKENS there is no status page at all. It also counts upload outcomes, so
 * it is mounted ahead of the upload routes.
 */
export function statusRouter({ config, storage, custody, lifecycle }: StatusRouteOptions): Router {
  const router = Router();
  const adminTokens = config.custody.admin?.tokens;
  if (config.server.production && !adminTokens?.length) return router;

  const counter = new UploadCounter();
  const report = new StatusReport({
    storage,
    ledger: custody.ledger,
    ledgerCheck: () => custody.check(),
    lifecycle,
    counter,
  });
  const assets = new StatusAssets();
  const guard =
    config.server.production && adminTokens
      ? adminAuth(adminTokens)
      : (_req: Request, _res: Response, next: NextFunction) => next();

  router.post(["/", "/upload"], (_req, res, next) => {
    res.on("close", counter.onResponseClose);
    next();
  });
  // app.get also answers HEAD. Only a browser asking for a page gets one: "/" is the
  // upload URL, and anything else asking for it keeps the JSON 404.
  router.get("/", (req, res, next) => {
    if (req.accepts(["json", "html"]) !== "html") return next();
    sendAsset(req, res, assets.html);
  });
  router.get("/status.json", guard, (_req, res, next) => {
    report.read().then((body) => {
      secure(res);
      res.set("Cache-Control", "no-store").json(body);
    }, next);
  });
  router.get("/status/*name", (req, res, next) => {
    const name = (req.params as { name: string[] }).name.join("/");
    assets.get(name).then((asset) => (asset ? sendAsset(req, res, asset) : next()), next);
  });
  return router;
}
