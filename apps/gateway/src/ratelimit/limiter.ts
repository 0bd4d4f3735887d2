import type { Logger } from "pino";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Redis } from "ioredis";

/** The outcome of counting one request against a limit. */
export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Counts requests per key in one-minute windows, shared through Redis when there is one. */
export interface RateLimit {
  readonly name: string;
  readonly perMinute: number;
  consume(key: string): Promise<Admission>;
}

const WINDOW_SECONDS = 60;
/** A Redis outage is logged once per this interval, not once per request. */
const OUTAGE_LOG_INTERVAL_MS = 30_000;

/**
 * A fixed one-minute window of `perMinute` requests per key. With a Redis client the count
 * lives in Redis, so every gateway instance sharing it enforces one limit. When Redis cannot
 * answer, the request is counted in this process's memory instead: the limit degrades to
 * per-instance (still a limit, never a wall that takes uploads down with Redis), and the
 * outage is logged as an error so an operator sees it.
 */
export function createRateLimit(options: {
  name: string;
  perMinute: number;
  redis: Redis | undefined;
  logger: Logger;
}): RateLimit {
  const { name, perMinute, redis, logger } = options;
  const keyPrefix = `mediagate:rl:${name}`;
  const memory = new RateLimiterMemory({ points: perMinute, duration: WINDOW_SECONDS, keyPrefix });
  const shared =
    redis &&
    new RateLimiterRedis({
      storeClient: redis,
      points: perMinute,
      duration: WINDOW_SECONDS,
      keyPrefix,
      // Fail over at once while disconnected instead of queueing behind a dead socket.
      rejectIfRedisNotReady: true,
    });
  let lastOutageLog = 0;

  const count = async (limiter: RateLimiterMemory | RateLimiterRedis, key: string) => {
    try {
      await limiter.consume(key);
      return { allowed: true } as const;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
      } as const;
    }
  };

  return {
    name,
    perMinute,
    async consume(key) {
      if (!shared) return count(memory, key);
      try {
        return await count(shared, key);
      } catch (err) {
        const now = Date.now();
        if (now - lastOutageLog >= OUTAGE_LOG_INTERVAL_MS) {
          lastOutageLog = now;
          logger.error(
            { err, limit: name },
            "Redis is unavailable: rate limits are enforced per instance until it is back",
          );
        }
        return count(memory, key);
      }
    },
  };
}
