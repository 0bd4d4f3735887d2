import type { Logger } from "pino";
import type { WebhookConfig } from "../config/load.ts";
import { HttpError } from "../http/errors.ts";
import { AllowCache } from "./allow-cache.ts";
import { allow, refuse, unauthorized, type Authenticator } from "./authenticator.ts";

/** Statuses a proxy answers when the app's backend behind it is down, not when it says no. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

const unavailable = (cause?: unknown) =>
  new HttpError("AUTH_UNAVAILABLE", "The upload cannot be authorised right now; try again.", {
    cause,
  });

/**
 * AUTH_MODE=webhook: the app's own backend decides. The gateway POSTs
 * `{auth, uid, mid, source}` as JSON to AUTH_WEBHOOK_URL; a 2xx allows, any other answer
 * denies (401). A backend that cannot be reached, times out or answers 502/503/504 is not a
 * "no": the upload is refused with 503 so the client retries instead of failing for good.
 * Allowed token+uid pairs are cached briefly (a chat sends bursts of files); denials never
 * are, so a token the app has just allowed works at once.
 */
export function webhookAuthenticator(config: WebhookConfig, logger: Logger): Authenticator {
  const cache = new AllowCache(config.cacheTtlMs, config.cacheSize);
  return {
    screen: (token) => (typeof token === "string" && token.length > 0 ? undefined : unauthorized()),
    async authenticate(request) {
      const key = AllowCache.key(request.auth, request.uid ?? "");
      if (cache.has(key)) return allow(request.uid);
      let status: number;
      try {
        const res = await fetch(config.url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "mediagate" },
          body: JSON.stringify(request),
          // A redirect could point the gateway at an internal address (SSRF): never follow.
          redirect: "manual",
          signal: AbortSignal.timeout(config.timeoutMs),
        });
        status = res.status;
        await res.body?.cancel().catch(() => {});
      } catch (err) {
        // The URL can carry a secret (a query token), so only the reason is logged.
        logger.warn(
          { reason: err instanceof Error ? (err.cause ?? err).toString() : String(err) },
          "auth webhook unreachable",
        );
        return refuse(unavailable(err));
      }
      if (status >= 200 && status < 300) {
        cache.add(key);
        return allow(request.uid);
      }
      if (UNAVAILABLE_STATUSES.has(status)) {
        logger.warn({ status }, "auth webhook unavailable");
        return refuse(unavailable());
      }
      return refuse(unauthorized());
    },
  };
}
