import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { supportsSignedUrls, type StorageAdapter } from "@mediagate/core";
import { createApp } from "./app.ts";
import express, { type Router } from "express";
import { createAuthenticator } from "./auth/index.ts";
import { Metrics } from "./observability/metrics.ts";
import { instrumentStorage } from "./observability/instrumented-storage.ts";
import { metricsRoute } from "./observability/route.ts";
import { startTracing } from "./observability/tracing.ts";
import { GATEWAY_VERSION } from "./version.ts";
import { startCustody, type Custody } from "./custody/index.ts";
import { errorHandler, notFoundHandler } from "./http/errors.ts";
import { httpLogger } from "./http/logging.ts";
import { startHousekeeping } from "./housekeeping.ts";
import { ConfigError, type GatewayConfig } from "./config/load.ts";
import type { RedirectOptions } from "./download/redirect.ts";
import { createRateLimits } from "./ratelimit/limits.ts";
import { uidRateLimitHook } from "./ratelimit/middleware.ts";
import { Lifecycle } from "./server/lifecycle.ts";
import { connectionsFor, openFileLimit } from "./server/connection-caps.ts";
import { startServer, type RunningServer } from "./server/http-server.ts";
import { Spool } from "./upload/spool.ts";
import { stripHook } from "./upload/strip-hook.ts";
import { StoreStep, type UploadHook } from "./upload/store.ts";

export interface Gateway extends RunningServer {
  storage: StorageAdapter;
  /** The admin API's own server, with ADMIN_PORT. */
  adminUrl: string | undefined;
  /** The metrics' own server, with METRICS_PORT. */
  metricsUrl: string | undefined;
}

/** /metrics on METRICS_HOST:METRICS_PORT, apart from uploads. */
async function startMetricsServer(
  metrics: Metrics,
  at: { port: number | undefined; host: string },
  config: GatewayConfig,
  logger: Logger,
): Promise<RunningServer> {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", metricsRoute(metrics));
  app.use(notFoundHandler);
  app.use(errorHandler());
  return startServer(
    app,
    new Lifecycle(),
    { ...config.server, port: at.port ?? 0, host: at.host },
    logger,
  );
}

/** The admin API on ADMIN_HOST:ADMIN_PORT (loopback by default), apart from uploads. */
async function startAdminServer(
  router: Router,
  config: GatewayConfig,
  logger: Logger,
): Promise<RunningServer> {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(httpLogger(logger.child({ server: "admin" })));
  app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler());
  const admin = config.custody.admin;
  return startServer(
    app,
    new Lifecycle(),
    {
      ...config.server,
      port: admin?.port ?? 0,
      host: admin?.host ?? "127.0.0.1",
    },
    logger,
  );
}

/**
 * Builds the configured storage adapter and serves the gateway on it. The adapter is built
 * but not required to be reachable: /readyz reports whether it is, so an orchestrator can
 * hold traffic until the backend comes up.
 */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  /** An adapter to serve instead of the configured backend's (tests). */
  options: { storage?: StorageAdapter } = {},
): Promise<Gateway> {
  if (config.auth.mode === "tokens" && config.auth.tokens.length === 0)
    throw new Error("startGateway needs at least one token.");
  const { provider } = config.storage;
  const raw =
    options.storage ??
    (await provider.create(config.storage.env, { createBucket: config.storage.createBucket }));
  const tracing = config.operations.tracing
    ? await startTracing(config.operations.tracing, GATEWAY_VERSION)
    : undefined;
  let redirect: RedirectOptions | undefined;
  if (config.download.mode === "redirect") {
    if (!supportsSignedUrls(raw)) {
      throw new ConfigError(
        `Invalid configuration: DOWNLOAD_MODE=redirect needs a backend that can sign URLs; STORAGE_PROVIDER=${provider.name} cannot with this configuration (use DOWNLOAD_MODE=proxy or direct)`,
      );
    }
    redirect = { storage: raw, ttlSeconds: config.download.redirectTtlSeconds };
  }
  const rateLimits = await createRateLimits(config.limits, logger);
  // Files that arrive before their fields wait here; names are random, so several gateways
  // may share the folder (each counts only its own files against SPOOL_MAX_BYTES).
  const spool = new Spool(
    config.upload.spool.dir ?? join(tmpdir(), "mediagate-spool"),
    config.upload.spool.maxBytes,
  );
  const metrics = new Metrics(raw.name, () => spool.used);
  // Every operation on the store is measured (and traced); bookkeeping below uses `raw`.
  const storage = instrumentStorage(raw, metrics, tracing?.tracer);
  const housekeeping = startHousekeeping({
    spool,
    storage: raw,
    logger,
    leftoverAgeMs: config.upload.leftoverAgeMs,
    abandonedUploadAgeMs: config.upload.abandonedUploadAgeMs,
  });
  const lifecycle = new Lifecycle();
  const authenticator = createAuthenticator(config.auth, logger);
  let custody: Custody;
  try {
    custody = await startCustody({
      config: config.custody,
      encryption: config.privacy.encryption,
      storage,
      logger,
      metrics,
    });
  } catch (err) {
    housekeeping.stop();
    await rateLimits.close();
    throw err;
  }
  const hooks: UploadHook[] = [];
  if (rateLimits.uploadsPerUid) hooks.push(uidRateLimitHook(rateLimits.uploadsPerUid));
  if (config.privacy.strip) hooks.push(stripHook(config.privacy.strip));
  hooks.push(...custody.hooks, metrics.hook());
  const store = new StoreStep({
    storage,
    authenticator,
    config: config.upload,
    lifecycle,
    hooks,
    tracer: tracing?.tracer,
  });
  const app = createApp({
    config,
    storage,
    store,
    spool,
    authenticator,
    lifecycle,
    logger,
    rateLimits,
    redirect,
    custody,
    metrics,
    tracing,
  });
  let running: RunningServer;
  let admin: RunningServer | undefined;
  let metricsServer: RunningServer | undefined;
  try {
    running = await startServer(app, lifecycle, config.server, logger, {
      perAddress: config.limits.connectionsPerAddress,
      total: connectionsFor(openFileLimit()),
    });
    if (custody.admin && config.custody.admin?.port !== undefined) {
      admin = await startAdminServer(custody.admin, config, logger);
    }
    const metricsAt = config.operations.metrics;
    if (metricsAt?.port !== undefined) {
      metricsServer = await startMetricsServer(metrics, metricsAt, config, logger);
    }
  } catch (err) {
    housekeeping.stop();
    await rateLimits.close();
    await custody.close();
    throw err;
  }
  return {
    ...running,
    storage,
    adminUrl: admin?.url,
    metricsUrl: metricsServer?.url,
    shutdown: async () => {
      try {
        housekeeping.stop();
        await Promise.all([running.shutdown(), admin?.shutdown(), metricsServer?.shutdown()]);
      } finally {
        await rateLimits.close();
        await custody.close();
        await tracing?.shutdown();
      }
    },
  };
}
