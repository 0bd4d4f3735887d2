import type { GatewayEnv } from "./schema.ts";
import {
  invalid,
  type AuthConfig,
  type DownloadConfig,
  type ServerConfig,
  type UploadConfig,
} from "./types.ts";
import type { AuthMode } from "./schema.ts";

/**
 * SPOOL_MAX_BYTES when unset: room for ten files at the default MAX_FILE_SIZE, and never less
 * than one file of the configured size.
 */
export const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;

export function serverSection(g: GatewayEnv): ServerConfig {
  return {
    port: g.PORT,
    host: g.HOST,
    logLevel: g.LOG_LEVEL,
    production: g.NODE_ENV === "production",
    trustProxy: g.TRUST_PROXY,
    headersTimeoutMs: g.HEADERS_TIMEOUT,
    idleTimeoutMs: g.IDLE_TIMEOUT,
    shutdownTimeoutMs: g.SHUTDOWN_TIMEOUT,
  };
}

/** Each mode needs its own variable, and a variable of another mode is a likely mistake. */
export function authSection(g: GatewayEnv): AuthConfig {
  const needs: Record<AuthMode, [string, unknown]> = {
    tokens: ["AUTH_TOKENS", true],
    signed: ["AUTH_SIGNING_SECRETS", g.AUTH_SIGNING_SECRETS],
    webhook: ["AUTH_WEBHOOK_URL", g.AUTH_WEBHOOK_URL],
  };
  const [required, value] = needs[g.AUTH_MODE];
  if (!value) throw invalid(`${required} is required when AUTH_MODE=${g.AUTH_MODE}`);
  if (g.AUTH_MODE !== "tokens" && g.AUTH_TOKENS) {
    throw invalid(`AUTH_TOKENS is only used with AUTH_MODE=tokens (AUTH_MODE is ${g.AUTH_MODE})`);
  }
  if (g.AUTH_MODE === "tokens" && !g.AUTH_TOKENS && g.NODE_ENV === "production") {
    throw invalid(
      "AUTH_TOKENS is required when NODE_ENV=production (comma-separated upload tokens)",
    );
  }
  return {
    mode: g.AUTH_MODE,
    tokens: g.AUTH_TOKENS ?? [],
    signingSecrets: g.AUTH_SIGNING_SECRETS ?? [],
    webhook: g.AUTH_WEBHOOK_URL
      ? {
          url: g.AUTH_WEBHOOK_URL,
          timeoutMs: g.AUTH_WEBHOOK_TIMEOUT,
          cacheTtlMs: g.AUTH_WEBHOOK_CACHE_TTL,
          cacheSize: g.AUTH_WEBHOOK_CACHE_SIZE,
        }
      : undefined,
  };
}

export function uploadSection(g: GatewayEnv, absolute: (path: string) => string): UploadConfig {
  const maxBytes = g.SPOOL_MAX_BYTES ?? Math.max(DEFAULT_SPOOL_MAX_BYTES, g.MAX_FILE_SIZE);
  if (maxBytes < g.MAX_FILE_SIZE) {
    throw invalid(
      "SPOOL_MAX_BYTES must be at least MAX_FILE_SIZE (a file that arrives before its fields could never be accepted)",
    );
  }
  return {
    maxFileSize: g.MAX_FILE_SIZE,
    allowedTypes: g.ALLOWED_TYPES,
    storageTimeoutMs: g.STORAGE_TIMEOUT,
    spool: { dir: g.SPOOL_DIR && absolute(g.SPOOL_DIR), maxBytes },
    leftoverAgeMs: g.LEFTOVER_AGE,
    abandonedUploadAgeMs: g.ABANDONED_UPLOAD_AGE,
  };
}

export function downloadSection(g: GatewayEnv): DownloadConfig {
  if (g.DOWNLOAD_MODE === "direct" && !g.PUBLIC_OBJECT_BASE_URL) {
    throw invalid(
      "PUBLIC_OBJECT_BASE_URL is required when DOWNLOAD_MODE=direct (the public bucket or CDN URL objects are read from)",
    );
  }
  if (g.DOWNLOAD_MODE !== "direct" && g.PUBLIC_OBJECT_BASE_URL) {
    throw invalid(
      "PUBLIC_OBJECT_BASE_URL is only used with DOWNLOAD_MODE=direct (unset it, or set DOWNLOAD_MODE=direct)",
    );
  }
  return {
    mode: g.DOWNLOAD_MODE,
    publicBaseUrl: g.PUBLIC_BASE_URL,
    redirectTtlSeconds: Math.ceil(g.REDIRECT_URL_TTL / 1000),
    publicObjectBaseUrl: g.PUBLIC_OBJECT_BASE_URL,
  };
}
