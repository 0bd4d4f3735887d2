import type { Logger } from "pino";
import type { Redis } from "ioredis";
import type { LimitsConfig } from "../config/load.ts";
import { createRateLimit, type RateLimit } from "./limiter.ts";

/** The configured limits (each absent when not configured) and how to release them. */
export interface RateLimits {
  uploadsPerUid: RateLimit | undefined;
  uploadsPerIp: RateLimit | undefined;
  downloadsPerIp: RateLimit | undefined;
  close(): Promise<void>;
}

/** Builds the limits; connects to Redis (lazily, in the background) only when one is set. */
export async function createRateLimits(
  settings: LimitsConfig,
  logger: Logger,
): Promise<RateLimits> {
  const wanted = {
    uploadsPerUid: settings.uploadsPerUid,
    uploadsPerIp: settings.uploadsPerIp,
    downloadsPerIp: settings.downloadsPerIp,
  };
  const any = Object.values(wanted).some((n) => n !== undefined);
  const redis =
    any && settings.redisUrl ? await connectRedis(settings.redisUrl, logger) : undefined;
  const build = (name: string, perMinute: number | undefined) =>
    perMinute === undefined ? undefined : createRateLimit({ name, perMinute, redis, logger });
  return {
    uploadsPerUid: build("upload-uid", wanted.uploadsPerUid),
    uploadsPerIp: build("upload-ip", wanted.uploadsPerIp),
    downloadsPerIp: build("download-ip", wanted.downloadsPerIp),
    async close() {
      if (!redis) return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

const READY_WAIT_MS = 3_000;

async function connectRedis(url: string, logger: Logger): Promise<Redis> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, {
    // A command while disconnected fails at once (and the limiter falls back to memory)
    // instead of waiting in a queue while uploads hang.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Keep reconnecting, at most every 2 s, for as long as the process runs.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let connected = false;
  redis.on("ready", () => {
    connected = true;
    logger.info("rate limits are shared through Redis");
  });
  // ioredis emits "error" on every failed reconnect; the limiter logs the outages it meets.
  redis.on("error", (err: Error) => {
    if (connected) logger.warn({ err }, "Redis connection error");
    connected = false;
  });
  // Wait briefly for the first connection, so a fresh instance enforces the shared limit
  // from its first request; a Redis that is down does not stop the gateway from starting.
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), READY_WAIT_MS);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) {
    logger.error(
      "Redis is unreachable at start-up: rate limits are enforced per instance until it is",
    );
  }
  return redis;
}
