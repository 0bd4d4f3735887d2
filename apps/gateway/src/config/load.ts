import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import type { z } from "zod";
import { providers, type ProviderName, type StorageProvider } from "../storage/providers/index.ts";
import type { RateLimitSettings } from "../ratelimit/limits.ts";
import { gatewayEnvSchema, type AuthMode } from "./schema.ts";

/** A configuration problem an operator fixes in the environment; printed as one line. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface GatewayConfig {
  provider: StorageProvider;
  /** The provider's own variables, parsed by its `env` schema. */
  providerEnv: unknown;
  createBucket: boolean;
  /** Accepted upload tokens; empty when none were configured (main.ts generates one). */
  authTokens: string[];
  /** How uploads authenticate: AUTH_TOKENS, signed per-user tokens, or the app's webhook. */
  authMode: AuthMode;
  /** AUTH_SIGNING_SECRETS, newest first (signed mode). */
  authSigningSecrets: string[];
  /** The app's auth webhook (webhook mode). */
  authWebhook: WebhookConfig | undefined;
  /** Origin (and optional path) download URLs start with; derived per request when unset. */
  publicBaseUrl: string | undefined;
  trustProxy: boolean | number;
  maxFileSize: number;
  /** Media-type patterns uploads must match (`image/*`); undefined accepts any type. */
  allowedTypes: string[] | undefined;
  port: number;
  host: string;
  logLevel: string;
  production: boolean;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** A storage write that makes no progress this long is given up (504). */
  storageTimeoutMs: number;
  spoolDir: string | undefined;
  /** Bytes of parts spooled before their fields that this process holds at once. */
  spoolMaxBytes: number;
  downloadMode: "proxy" | "redirect" | "direct";
  /** Lifetime of the signed URLs DOWNLOAD_MODE=redirect answers with, in whole seconds. */
  redirectUrlTtlSeconds: number;
  /** DOWNLOAD_MODE=direct: where objects are publicly readable, the key appended. */
  publicObjectBaseUrl: string | undefined;
  rateLimits: RateLimitSettings;
}

export interface WebhookConfig {
  url: string;
  timeoutMs: number;
  /** How long an allowed token+uid is remembered; 0 asks the webhook every time. */
  cacheTtlMs: number;
  cacheSize: number;
}

type Env = Record<string, string | undefined>;

/**
 * SPOOL_MAX_BYTES when unset: room for ten files at the default MAX_FILE_SIZE, and never less
 * than one file of the configured size.
 */
export const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;

/** Values of a `.env` file in `dir`, or nothing when there is none. */
export function readDotenvFile(dir: string): Env {
  const path = resolve(dir, ".env");
  if (!existsSync(path)) return {};
  try {
    return parseDotenv(readFileSync(path));
  } catch (err) {
    throw new ConfigError(`${path}: cannot be read (${(err as Error).message})`);
  }
}

/** Real environment variables win over the .env file, as dotenv does by default. */
export function mergeEnv(fileEnv: Env, processEnv: Env): Env {
  return { ...fileEnv, ...processEnv };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const name = issue.path.map(String).join(".");
      return name ? `${name} ${issue.message}` : issue.message;
    })
    .join("; ");
}

/**
 * Validates the whole configuration: the gateway's variables, then the selected provider's.
 * Throws ConfigError naming every bad variable. Relative paths resolve against `baseDir`.
 */
export function loadConfig(rawEnv: Env, baseDir: string): GatewayConfig {
  // `X=` (compose's `${X:-}`) means "not set", not "set to nothing".
  const env = Object.fromEntries(
    Object.entries(rawEnv).filter(([, value]) => value !== undefined && value.trim() !== ""),
  ) as Record<string, string>;

  const names = Object.keys(providers) as [ProviderName, ...ProviderName[]];
  const base = gatewayEnvSchema(names).safeParse(env);
  // The provider's variables are checked even when a gateway variable is bad, so one run
  // reports every problem.
  const name = env.STORAGE_PROVIDER?.trim() ?? "fs";
  const provider = Object.hasOwn(providers, name) ? providers[name as ProviderName] : undefined;
  const providerEnv = provider?.env.safeParse(env);
  const issues = [...(base.error?.issues ?? []), ...(providerEnv?.error?.issues ?? [])];
  if (!base.success || !provider || !providerEnv?.success || issues.length > 0) {
    throw new ConfigError(`Invalid configuration: ${describeIssues(issues)}`);
  }
  const g = base.data;
  const production = g.NODE_ENV === "production";
  checkAuthMode(g);
  if (g.AUTH_MODE === "tokens" && !g.AUTH_TOKENS && production) {
    throw new ConfigError(
      "Invalid configuration: AUTH_TOKENS is required when NODE_ENV=production (comma-separated upload tokens)",
    );
  }
  if (g.DOWNLOAD_MODE === "direct" && !g.PUBLIC_OBJECT_BASE_URL) {
    throw new ConfigError(
      "Invalid configuration: PUBLIC_OBJECT_BASE_URL is required when DOWNLOAD_MODE=direct (the public bucket or CDN URL objects are read from)",
    );
  }
  if (g.DOWNLOAD_MODE !== "direct" && g.PUBLIC_OBJECT_BASE_URL) {
    throw new ConfigError(
      "Invalid configuration: PUBLIC_OBJECT_BASE_URL is only used with DOWNLOAD_MODE=direct (unset it, or set DOWNLOAD_MODE=direct)",
    );
  }
  const spoolMaxBytes = g.SPOOL_MAX_BYTES ?? Math.max(DEFAULT_SPOOL_MAX_BYTES, g.MAX_FILE_SIZE);
  if (spoolMaxBytes < g.MAX_FILE_SIZE) {
    throw new ConfigError(
      "Invalid configuration: SPOOL_MAX_BYTES must be at least MAX_FILE_SIZE (a file that arrives before its fields could never be accepted)",
    );
  }
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  return {
    provider,
    providerEnv: resolveRelativePaths(providerEnv.data, absolute),
    // A local folder is safe to create; a cloud bucket is an operator's decision.
    createBucket: g.STORAGE_CREATE_BUCKET ?? provider.name === "fs",
    authTokens: g.AUTH_TOKENS ?? [],
    authMode: g.AUTH_MODE,
    authSigningSecrets: g.AUTH_SIGNING_SECRETS ?? [],
    authWebhook: g.AUTH_WEBHOOK_URL
      ? {
          url: g.AUTH_WEBHOOK_URL,
          timeoutMs: g.AUTH_WEBHOOK_TIMEOUT,
          cacheTtlMs: g.AUTH_WEBHOOK_CACHE_TTL,
          cacheSize: g.AUTH_WEBHOOK_CACHE_SIZE,
        }
      : undefined,
    publicBaseUrl: g.PUBLIC_BASE_URL,
    trustProxy: g.TRUST_PROXY,
    maxFileSize: g.MAX_FILE_SIZE,
    allowedTypes: g.ALLOWED_TYPES,
    port: g.PORT,
    host: g.HOST,
    logLevel: g.LOG_LEVEL,
    production,
    headersTimeoutMs: g.HEADERS_TIMEOUT,
    idleTimeoutMs: g.IDLE_TIMEOUT,
    shutdownTimeoutMs: g.SHUTDOWN_TIMEOUT,
    storageTimeoutMs: g.STORAGE_TIMEOUT,
    spoolDir: g.SPOOL_DIR && absolute(g.SPOOL_DIR),
    spoolMaxBytes,
    downloadMode: g.DOWNLOAD_MODE,
    redirectUrlTtlSeconds: Math.ceil(g.REDIRECT_URL_TTL / 1000),
    publicObjectBaseUrl: g.PUBLIC_OBJECT_BASE_URL,
    rateLimits: {
      uploadsPerUid: g.RATE_LIMIT_UPLOADS_PER_MINUTE,
      uploadsPerIp: g.RATE_LIMIT_IP_PER_MINUTE,
      downloadsPerIp: g.RATE_LIMIT_DOWNLOADS_PER_MINUTE,
      redisUrl: g.REDIS_URL,
    },
  };
}

/** Each mode needs its own variable, and a variable of another mode is a likely mistake. */
function checkAuthMode(g: z.output<ReturnType<typeof gatewayEnvSchema>>): void {
  const needs: Record<AuthMode, [string, unknown]> = {
    tokens: ["AUTH_TOKENS", true],
    signed: ["AUTH_SIGNING_SECRETS", g.AUTH_SIGNING_SECRETS],
    webhook: ["AUTH_WEBHOOK_URL", g.AUTH_WEBHOOK_URL],
  };
  const [required, value] = needs[g.AUTH_MODE];
  if (!value) {
    throw new ConfigError(
      `Invalid configuration: ${required} is required when AUTH_MODE=${g.AUTH_MODE}`,
    );
  }
  if (g.AUTH_MODE !== "tokens" && g.AUTH_TOKENS) {
    throw new ConfigError(
      `Invalid configuration: AUTH_TOKENS is only used with AUTH_MODE=tokens (AUTH_MODE is ${g.AUTH_MODE})`,
    );
  }
}

/** FS_ROOT and other `*_ROOT`/`*_FILE` paths are relative to where the operator started us. */
function resolveRelativePaths(values: unknown, absolute: (path: string) => string): unknown {
  if (typeof values !== "object" || values === null) return values;
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      typeof value === "string" && /_(ROOT|FILE|DIR)$/.test(name) ? absolute(value) : value,
    ]),
  );
}
