import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { StorageAdapter } from "@mediagate/core";
import type { Authenticator } from "./auth/authenticator.ts";
import type { Audit } from "./custody/audit.ts";
import type { Custody } from "./custody/index.ts";
import type { GatewayConfig } from "./config/load.ts";
import { downloadRouter } from "./download/route.ts";
import type { RedirectOptions } from "./download/redirect.ts";
import { healthRouter } from "./health/route.ts";
import { errorHandler, HttpError, notFoundHandler } from "./http/errors.ts";
import { cors } from "./http/cors.ts";
import type { Metrics } from "./observability/metrics.ts";
import { metricsRoute } from "./observability/route.ts";
import type { Tracing } from "./observability/tracing.ts";
import { httpLogger } from "./http/logging.ts";
import type { RateLimits } from "./ratelimit/limits.ts";
import { limitByClientAddress } from "./ratelimit/middleware.ts";
import { statusRouter } from "./status/route.ts";
import type { Lifecycle } from "./server/lifecycle.ts";
import { DOWNLOAD_PREFIX } from "./upload/public-url.ts";
import { enforceBodyRate, limitConcurrentUploads } from "./upload/pace.ts";
import { uploadRouter } from "./upload/route.ts";
import type { Spool } from "./upload/spool.ts";
import type { StoreStep } from "./upload/store.ts";

/** What the app serves with: the configuration, and the parts built from it at start. */
export interface AppParts {
  config: GatewayConfig;
  storage: StorageAdapter;
  store: StoreStep;
  spool: Spool;
  authenticator: Authenticator;
  lifecycle: Lifecycle;
  logger: Logger;
  rateLimits: RateLimits;
  /** DOWNLOAD_MODE=redirect: downloads answer 302 to signed URLs. */
  redirect: RedirectOptions | undefined;
  custody: Custody;
  metrics: Metrics;
  tracing: Tracing | undefined;
}

/** AUDIT_DOWNLOADS: each download as an audit event, once it has been answered. */
function auditDownload(audit: Audit) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.once("close", () =>
      audit.record({
        event: "download",
        key: req.path.slice(DOWNLOAD_PREFIX.length),
        ...(typeof req.headers.range === "string" && { range: req.headers.range }),
        ...(req.ip !== undefined && { client: req.ip }),
        status: res.writableFinished ? res.statusCode : 499,
      }),
    );
    next();
  };
}

/** HTTP/1.1 requires a Host header (RFC 9112 §3.2); refused here in the JSON shape. */
function requireHost(req: Request, res: Response, next: NextFunction): void {
  if (req.headers.host !== undefined || req.httpVersionMajor < 1 || req.httpVersion === "1.0") {
    return next();
  }
  res.set("Connection", "close");
  next(new HttpError("BAD_REQUEST", "The Host header is missing."));
}

/** The Express app: health, uploads, downloads, and JSON for everything else. */
export function createApp(parts: AppParts): Express {
  const { config, lifecycle, rateLimits } = parts;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("trust proxy", config.server.trustProxy);
  // A connection over a cap was answered already (server/connection-caps.ts).
  app.use((req, _res, next) => {
    if (!(req as Request & { shed?: boolean }).shed) next();
  });
  // Before the logger: the request's log line carries its trace's ids.
  if (parts.tracing) app.use(parts.tracing.middleware());
  app.use(httpLogger(parts.logger));
  app.use(parts.metrics.middleware());
  if (config.operations.metrics && config.operations.metrics.port === undefined) {
    app.get("/metrics", metricsRoute(parts.metrics));
  }
  app.use(requireHost);
  // Before every route, so refusals carry the headers a page needs to read them.
  app.use(cors(config.browsers.cors));
  app.use((_req, res, next) => {
    // Also closes the connection after this response when the server is draining.
    lifecycle.track(res);
    next();
  });
  app.use(
    healthRouter({
      lifecycle,
      checks: [
        { name: parts.storage.name, check: (signal) => parts.storage.check({ signal }) },
        { name: "ledger", check: () => parts.custody.check() },
      ],
    }),
  );
  // Ahead of the upload routes: it counts their outcomes (and serves GET / to browsers).
  app.use(statusRouter({ config, storage: parts.storage, custody: parts.custody, lifecycle }));
  app.post(
    ["/", "/upload"],
    limitByClientAddress(rateLimits.uploadsPerIp, "uploads from this address"),
    limitConcurrentUploads(config.limits.maxUploadsPerAddress),
    enforceBodyRate(config.limits),
  );
  // app.get also covers HEAD.
  app.get(
    `${DOWNLOAD_PREFIX}*key`,
    limitByClientAddress(rateLimits.downloadsPerIp, "downloads from this address"),
  );
  app.use(
    uploadRouter({
      config: config.upload,
      download: config.download,
      store: parts.store,
      spool: parts.spool,
      authenticator: parts.authenticator,
      lifecycle,
      fieldsTimeoutMs: config.limits.fieldsTimeoutMs,
    }),
  );
  if (parts.custody.audit.downloads)
    app.get(`${DOWNLOAD_PREFIX}*key`, auditDownload(parts.custody.audit));
  app.use(downloadRouter({ storage: parts.custody.reader, redirect: parts.redirect }));
  // The admin API on the gateway's own port, unless ADMIN_PORT gives it one of its own.
  if (parts.custody.admin && config.custody.admin?.port === undefined) app.use(parts.custody.admin);
  app.use(notFoundHandler);
  app.use(errorHandler());
  return app;
}
