import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { supportsSignedUrls, type StorageAdapter } from "@mediagate/core";
import { createApp } from "./app.ts";
import { createAuthenticator } from "./auth/index.ts";
import { startHousekeeping } from "./housekeeping.ts";
import { ConfigError, type GatewayConfig } from "./config/load.ts";
import type { RedirectOptions } from "./download/redirect.ts";
import { createRateLimits } from "./ratelimit/limits.ts";
import { uidRateLimitHook } from "./ratelimit/middleware.ts";
import { Lifecycle } from "./server/lifecycle.ts";
import { connectionsFor, openFileLimit } from "./server/connection-caps.ts";
import { startServer, type RunningServer } from "./server/http-server.ts";
import { Spool } from "./upload/spool.ts";
import { StoreStep, type UploadHook } from "./upload/store.ts";

export interface Gateway extends RunningServer {
  storage: StorageAdapter;
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
  const storage =
    options.storage ??
    (await provider.create(config.storage.env, { createBucket: config.storage.createBucket }));
  let redirect: RedirectOptions | undefined;
  if (config.download.mode === "redirect") {
    if (!supportsSignedUrls(storage)) {
      throw new ConfigError(
        `Invalid configuration: DOWNLOAD_MODE=redirect needs a backend that can sign URLs; STORAGE_PROVIDER=${provider.name} cannot with this configuration (use DOWNLOAD_MODE=proxy or direct)`,
      );
    }
    redirect = { storage, ttlSeconds: config.download.redirectTtlSeconds };
  }
  const rateLimits = await createRateLimits(config.limits, logger);
  // Files that arrive before their fields wait here; names are random, so several gateways
  // may share the folder (each counts only its own files against SPOOL_MAX_BYTES).
  const spool = new Spool(
    config.upload.spool.dir ?? join(tmpdir(), "mediagate-spool"),
    config.upload.spool.maxBytes,
  );
  const housekeeping = startHousekeeping({
    spool,
    storage,
    logger,
    leftoverAgeMs: config.upload.leftoverAgeMs,
  });
  const lifecycle = new Lifecycle();
  const authenticator = createAuthenticator(config.auth, logger);
  const hooks: UploadHook[] = [];
  if (rateLimits.uploadsPerUid) hooks.push(uidRateLimitHook(rateLimits.uploadsPerUid));
  const store = new StoreStep({ storage, authenticator, config: config.upload, lifecycle, hooks });
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
  });
  let running: RunningServer;
  try {
    running = await startServer(app, lifecycle, config.server, logger, {
      perAddress: config.limits.connectionsPerAddress,
      total: connectionsFor(openFileLimit()),
    });
  } catch (err) {
    housekeeping.stop();
    await rateLimits.close();
    throw err;
  }
  return {
    ...running,
    storage,
    shutdown: async () => {
      try {
        housekeeping.stop();
        await running.shutdown();
      } finally {
        await rateLimits.close();
      }
    },
  };
}
