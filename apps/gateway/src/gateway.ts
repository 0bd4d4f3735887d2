import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { supportsSignedUrls, type StorageAdapter } from "@mediagate/core";
import { SPOOL_PREFIX } from "./upload/engine.ts";
import { BudgetedSpool, SpoolBudget } from "./upload/spool-budget.ts";
import { FsAdapter } from "@mediagate/fs";
import { createApp } from "./app.ts";
import { createAuthenticator } from "./auth/index.ts";
import { ConfigError, type GatewayConfig } from "./config/load.ts";
import type { RedirectOptions } from "./download/redirect.ts";
import { createRateLimits } from "./ratelimit/limits.ts";
import { Lifecycle } from "./server/lifecycle.ts";
import { startServer, type RunningServer } from "./server/http-server.ts";

export interface Gateway extends RunningServer {
  storage: StorageAdapter;
}

/**
 * Builds the configured storage adapter and serves the gateway on it. The adapter is built
 * but not required to be reachable: /readyz reports whether it is, so an orchestrator can
 * hold traffic until the backend comes up.
 */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  if (config.authMode === "tokens" && config.authTokens.length === 0)
    throw new Error("startGateway needs at least one token.");
  const storage = await config.provider.create(config.providerEnv, {
    createBucket: config.createBucket,
  });
  let redirect: RedirectOptions | undefined;
  if (config.downloadMode === "redirect") {
    if (!supportsSignedUrls(storage)) {
      throw new ConfigError(
        `Invalid configuration: DOWNLOAD_MODE=redirect needs a backend that can sign URLs; STORAGE_PROVIDER=${config.provider.name} cannot with this configuration (use DOWNLOAD_MODE=proxy or direct)`,
      );
    }
    redirect = { storage, ttlSeconds: config.redirectUrlTtlSeconds };
  }
  const rateLimits = await createRateLimits(config.rateLimits, logger);
  // Parts that arrive before their fields wait here; keys are random, so several gateways
  // may share the folder (each counts only its own parts against SPOOL_MAX_BYTES).
  const spoolFolder = new FsAdapter({
    root: config.spoolDir ?? join(tmpdir(), "mediagate-spool"),
    createRoot: true,
  });
  void removeStaleSpool(spoolFolder, logger);
  if (storage instanceof FsAdapter) void removeStaleTemps(storage, logger);
  // Spooling happens before authentication, so the disk it may take is capped in total.
  const spool = new BudgetedSpool(spoolFolder, new SpoolBudget(config.spoolMaxBytes));
  const lifecycle = new Lifecycle();
  const app = createApp({
    storage,
    spool,
    authenticator: createAuthenticator(config, logger),
    lifecycle,
    logger,
    publicBaseUrl: config.publicBaseUrl,
    trustProxy: config.trustProxy,
    maxFileSize: config.maxFileSize,
    allowedTypes: config.allowedTypes,
    idleTimeoutMs: config.idleTimeoutMs,
    redirect,
    publicObjectBaseUrl: config.downloadMode === "direct" ? config.publicObjectBaseUrl : undefined,
    rateLimits,
    storageTimeoutMs: config.storageTimeoutMs,
  });
  let running: RunningServer;
  try {
    running = await startServer(app, lifecycle, config, logger);
  } catch (err) {
    await rateLimits.close();
    throw err;
  }
  return {
    ...running,
    storage,
    shutdown: async () => {
      try {
        await running.shutdown();
      } finally {
        await rateLimits.close();
      }
    },
  };
}

/** A spooled part or a temp file lives for one request; one a day old was left by a process that died. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Temp files a crashed process left in the local-folder store (a live write renews its
 * file's mtime with every write, so a day-old one has no writer).
 */
async function removeStaleTemps(storage: FsAdapter, logger: Logger): Promise<void> {
  try {
    const removed = await storage.removeStaleTempFiles(STALE_AFTER_MS);
    if (removed > 0) logger.info({ removed }, "removed stale temp files from the storage folder");
  } catch (err) {
    logger.warn({ err }, "could not clean the storage folder's temp files");
  }
}

async function removeStaleSpool(spool: FsAdapter, logger: Logger): Promise<void> {
  try {
    const cutoff = Date.now() - STALE_AFTER_MS;
    let removed = await spool.removeStaleTempFiles(STALE_AFTER_MS);
    for await (const entry of spool.list(SPOOL_PREFIX)) {
      if (entry.lastModified.getTime() < cutoff) {
        await spool.delete(entry.key);
        removed++;
      }
    }
    if (removed > 0) logger.info({ removed }, "removed stale spooled parts");
  } catch (err) {
    logger.warn({ err }, "could not clean the spool folder");
  }
}
