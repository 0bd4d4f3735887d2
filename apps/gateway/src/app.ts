import express, { type Express } from "express";
import type { Logger } from "pino";
import type { StorageAdapter } from "@mediagate/core";
import type { TokenVerifier } from "./auth/tokens.ts";
import { downloadRouter } from "./download/route.ts";
import { healthRouter } from "./health/route.ts";
import { errorHandler, notFoundHandler } from "./http/errors.ts";
import { httpLogger } from "./http/logging.ts";
import type { Lifecycle } from "./server/lifecycle.ts";
import { uploadRouter } from "./upload/route.ts";

export interface AppOptions {
  storage: StorageAdapter;
  spool: StorageAdapter;
  tokens: TokenVerifier;
  lifecycle: Lifecycle;
  logger: Logger;
  publicBaseUrl: string | undefined;
  trustProxy: boolean | number;
  maxFileSize: number;
  allowedTypes: readonly string[] | undefined;
  idleTimeoutMs: number;
}

/** The Express app: health, uploads, downloads, and JSON for everything else. */
export function createApp(options: AppOptions): Express {
  const { lifecycle } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("trust proxy", options.trustProxy);
  app.use(httpLogger(options.logger));
  app.use((_req, res, next) => {
    lifecycle.track(res);
    if (lifecycle.draining) res.set("Connection", "close");
    next();
  });
  app.use(healthRouter({ storage: options.storage, lifecycle }));
  app.use(uploadRouter(options));
  app.use(downloadRouter({ storage: options.storage }));
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
}
