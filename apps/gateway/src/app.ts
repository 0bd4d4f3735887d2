import express, { type Express } from "express";
import type { Logger } from "pino";
import type { StorageAdapter } from "@mediagate/core";
import type { Authenticator } from "./auth/authenticator.ts";
import { downloadRouter } from "./download/route.ts";
import { healthRouter } from "./health/route.ts";
import { errorHandler, notFoundHandler } from "./http/errors.ts";
import { httpLogger } from "./http/logging.ts";
import type { Lifecycle } from "./server/lifecycle.ts";
import { uploadRouter } from "./upload/route.ts";
import { DOWNLOAD_PREFIX } from "./upload/public-url.ts";
import type { RedirectOptions } from "./download/redirect.ts";
import { limitByClientAddress, rateLimited } from "./ratelimit/middleware.ts";
import type { RateLimits } from "./ratelimit/limits.ts";

export interface AppOptions {
  storage: StorageAdapter;
  spool: StorageAdapter;
  authenticator: Authenticator;
  lifecycle: Lifecycle;
  logger: Logger;
  publicBaseUrl: string | undefined;
  trustProxy: boolean | number;
  maxFileSize: number;
  allowedTypes: readonly string[] | undefined;
  idleTimeoutMs: number;
  /** DOWNLOAD_MODE=redirect: downloads answer 302 to signed URLs. */
  redirect?: RedirectOptions | undefined;
  /** DOWNLOAD_MODE=direct: upload answers name the public object URL. */
  publicObjectBaseUrl?: string | undefined;
  rateLimits?: RateLimits | undefined;
  storageTimeoutMs: number;
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
    // Also closes the connection after this response when the server is draining.
    lifecycle.track(res);
    next();
  });
  app.use(healthRouter({ storage: options.storage, lifecycle }));
  const limits = options.rateLimits;
  app.post(
    ["/", "/upload"],
    limitByClientAddress(limits?.uploadsPerIp, "uploads from this address"),
  );
  // app.get also covers HEAD.
  app.get(
    `${DOWNLOAD_PREFIX}*key`,
    limitByClientAddress(limits?.downloadsPerIp, "downloads from this address"),
  );
  const perUid = limits?.uploadsPerUid;
  app.use(
    uploadRouter({
      ...options,
      admit: perUid
        ? async ({ uid }) => {
            const admission = await perUid.consume(uid);
            return admission.allowed ? undefined : rateLimited(admission, "uploads for this uid");
          }
        : undefined,
    }),
  );
  app.use(downloadRouter({ storage: options.storage, redirect: options.redirect }));
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
}
