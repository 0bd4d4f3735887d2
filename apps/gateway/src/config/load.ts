import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import type { z } from "zod";
import { providers, type ProviderName, type StorageProvider } from "../storage/providers/index.ts";
import type { QuotaLimits } from "@mediagate/ledger";
import type { AuditConfig } from "../custody/audit.ts";
import { Retention } from "../custody/retention-rules.ts";
import { SOURCE_NAMES, sourceCode } from "../custody/sources.ts";
import { KeyRing } from "@mediagate/encryption";
import type { StripPolicy } from "../upload/strip-hook.ts";
import type { PaceConfig } from "../upload/pace.ts";
import { gatewayEnvSchema, type AuthMode, type GatewayEnv } from "./schema.ts";

/** A configuration problem an operator fixes in the environment; printed as one line. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface ServerConfig {
  port: number;
  host: string;
  logLevel: string;
  production: boolean;
  trustProxy: boolean | number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  shutdownTimeoutMs: number;
}

export interface WebhookConfig {
  url: string;
  timeoutMs: number;
  /** How long an allowed token+uid is remembered; 0 asks the webhook every time. */
  cacheTtlMs: number;
  cacheSize: number;
}

export interface AuthConfig {
  mode: AuthMode;
  /** Accepted upload tokens; empty when none were configured (main.ts generates one). */
  tokens: string[];
  /** AUTH_SIGNING_SECRETS, newest first (signed mode). */
  signingSecrets: string[];
  /** The app's auth webhook (webhook mode). */
  webhook: WebhookConfig | undefined;
}

export interface UploadConfig {
  maxFileSize: number;
  /** Media-type patterns uploads must match (`image/*`); undefined accepts any type. */
  allowedTypes: string[] | undefined;
  /** A storage write that makes no progress this long is given up (504). */
  storageTimeoutMs: number;
  /** Where files that came before their fields wait, and how many bytes of them at once. */
  spool: { dir: string | undefined; maxBytes: number };
  /** Spool and temp files older than this belong to no live upload of any process. */
  leftoverAgeMs: number;
  /** Cloud uploads begun this long ago were abandoned by a process that died. */
  abandonedUploadAgeMs: number;
}

export interface DownloadConfig {
  mode: "proxy" | "redirect" | "direct";
  /** Origin (and optional path) download URLs start with; derived per request when unset. */
  publicBaseUrl: string | undefined;
  /** Lifetime of the signed URLs DOWNLOAD_MODE=redirect answers with, in whole seconds. */
  redirectTtlSeconds: number;
  /** DOWNLOAD_MODE=direct: where objects are publicly readable, the key appended. */
  publicObjectBaseUrl: string | undefined;
}

export interface BrowsersConfig {
  /** CORS_ORIGINS; undefined answers no page on another origin. */
  cors: { origins: string[] | "*" } | undefined;
}

export interface LimitsConfig extends PaceConfig {
  /** Open connections per client address; undefined behind a trusted proxy or when 0. */
  connectionsPerAddress: number | undefined;
  /** Uploads per minute per mesibo uid (counted once the token checks out). */
  uploadsPerUid: number | undefined;
  /** Upload requests per minute per client address. */
  uploadsPerIp: number | undefined;
  /** Download requests per minute per client address. */
  downloadsPerIp: number | undefined;
  /** redis:// URL shared by every gateway instance; in-process counting without it. */
  redisUrl: string | undefined;
}

export type LedgerSettings = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

export interface CustodyConfig {
  /** The ledger; undefined with LEDGER=off. */
  ledger: LedgerSettings | undefined;
  retention: Retention | undefined;
  sweepIntervalMs: number;
  sweepRatePerSecond: number;
  quotas: QuotaLimits | undefined;
  audit: AuditConfig;
  /** The admin API; undefined without ADMIN_TOKENS. */
  admin: { tokens: string[]; port: number | undefined; host: string } | undefined;
}

export interface PrivacyConfig {
  /** ENCRYPTION=on: the master keys, newest first. */
  encryption: { keys: KeyRing } | undefined;
  /** STRIP_METADATA; undefined when off. */
  strip: StripPolicy | undefined;
}

export interface StorageConfig {
  provider: StorageProvider;
  /** The provider's own variables, parsed by its `env` schema. */
  env: unknown;
  createBucket: boolean;
}

/** The whole configuration, parsed once; each part goes whole to the code that uses it. */
export interface GatewayConfig {
  server: ServerConfig;
  auth: AuthConfig;
  upload: UploadConfig;
  download: DownloadConfig;
  browsers: BrowsersConfig;
  limits: LimitsConfig;
  custody: CustodyConfig;
  privacy: PrivacyConfig;
  storage: StorageConfig;
}

type Env = Record<string, string | undefined>;

/** MIN_UPLOAD_RATE is averaged over a minute: a mobile link may stall for seconds. */
const UPLOAD_RATE_WINDOW_MS = 60_000;

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

const invalid = (sentence: string) => new ConfigError(`Invalid configuration: ${sentence}`);

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
    throw invalid(describeIssues(issues));
  }
  const g = base.data;
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  return {
    server: serverSection(g),
    auth: authSection(g),
    upload: uploadSection(g, absolute),
    download: downloadSection(g),
    browsers: { cors: g.CORS_ORIGINS ? { origins: g.CORS_ORIGINS } : undefined },
    limits: {
      connectionsPerAddress:
        g.TRUST_PROXY !== false || g.MAX_CONNECTIONS_PER_IP === 0
          ? undefined
          : g.MAX_CONNECTIONS_PER_IP,
      maxUploadsPerAddress: g.MAX_UPLOADS_PER_IP,
      minBytesPerSecond: g.MIN_UPLOAD_RATE,
      rateWindowMs: UPLOAD_RATE_WINDOW_MS,
      fieldsTimeoutMs: g.FIELDS_TIMEOUT,
      uploadsPerUid: g.RATE_LIMIT_UPLOADS_PER_MINUTE,
      uploadsPerIp: g.RATE_LIMIT_IP_PER_MINUTE,
      downloadsPerIp: g.RATE_LIMIT_DOWNLOADS_PER_MINUTE,
      redisUrl: g.REDIS_URL,
    },
    custody: custodySection(g, absolute),
    privacy: privacySection(g, absolute),
    storage: {
      provider,
      env: resolveRelativePaths(providerEnv.data, absolute),
      // A local folder is safe to create; a cloud bucket is an operator's decision.
      createBucket: g.STORAGE_CREATE_BUCKET ?? provider.name === "fs",
    },
  };
}

function serverSection(g: GatewayEnv): ServerConfig {
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
function authSection(g: GatewayEnv): AuthConfig {
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

function uploadSection(g: GatewayEnv, absolute: (path: string) => string): UploadConfig {
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

function downloadSection(g: GatewayEnv): DownloadConfig {
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

function custodySection(g: GatewayEnv, absolute: (path: string) => string): CustodyConfig {
  const kind = g.LEDGER ?? (g.LEDGER_URL ? "postgres" : "sqlite");
  if (kind === "postgres" && !g.LEDGER_URL) {
    throw invalid("LEDGER_URL is required when LEDGER=postgres (postgres://user:password@host/db)");
  }
  if (kind !== "postgres" && g.LEDGER_URL) {
    throw invalid(`LEDGER_URL is only used with LEDGER=postgres (LEDGER is ${kind})`);
  }
  let retention: Retention | undefined;
  if (g.RETENTION) {
    try {
      retention = Retention.parse(g.RETENTION);
    } catch (err) {
      throw invalid(`RETENTION ${(err as Error).message}`);
    }
  }
  const quotas: QuotaLimits = {
    ...(g.QUOTA_FILES_PER_DAY !== undefined && { filesPerDay: g.QUOTA_FILES_PER_DAY }),
    ...(g.QUOTA_BYTES_PER_DAY !== undefined && { bytesPerDay: g.QUOTA_BYTES_PER_DAY }),
    ...(g.QUOTA_BYTES_TOTAL !== undefined && { bytesTotal: g.QUOTA_BYTES_TOTAL }),
  };
  const quotaSet = Object.keys(quotas).length > 0;
  if (kind === "off") {
    const needing = [
      ["RETENTION", g.RETENTION],
      ["QUOTA_FILES_PER_DAY", g.QUOTA_FILES_PER_DAY],
      ["QUOTA_BYTES_PER_DAY", g.QUOTA_BYTES_PER_DAY],
      ["QUOTA_BYTES_TOTAL", g.QUOTA_BYTES_TOTAL],
      ["ADMIN_TOKENS", g.ADMIN_TOKENS],
    ].find(([, value]) => value !== undefined);
    if (needing) {
      throw invalid(
        `${needing[0]} needs the ledger, which LEDGER=off turns off (unset one of them)`,
      );
    }
  }
  if (g.ADMIN_PORT !== undefined && !g.ADMIN_TOKENS) {
    throw invalid("ADMIN_PORT is only used with ADMIN_TOKENS (the admin API is off without them)");
  }
  if (g.ADMIN_PORT !== undefined && g.ADMIN_PORT === g.PORT && g.ADMIN_PORT !== 0) {
    throw invalid("ADMIN_PORT must differ from PORT (unset it to serve the admin API on PORT)");
  }
  return {
    ledger:
      kind === "off"
        ? undefined
        : kind === "postgres"
          ? { kind, url: g.LEDGER_URL as string }
          : { kind, path: absolute(g.LEDGER_PATH) },
    retention,
    sweepIntervalMs: g.RETENTION_SWEEP_INTERVAL,
    sweepRatePerSecond: g.RETENTION_RATE,
    quotas: quotaSet ? quotas : undefined,
    audit: { file: g.AUDIT_LOG && absolute(g.AUDIT_LOG), downloads: g.AUDIT_DOWNLOADS ?? false },
    admin: g.ADMIN_TOKENS
      ? { tokens: g.ADMIN_TOKENS, port: g.ADMIN_PORT, host: g.ADMIN_HOST }
      : undefined,
  };
}

function privacySection(g: GatewayEnv, absolute: (path: string) => string): PrivacyConfig {
  return { encryption: encryptionSetting(g, absolute), strip: stripPolicy(g.STRIP_METADATA) };
}

function encryptionSetting(
  g: GatewayEnv,
  absolute: (path: string) => string,
): PrivacyConfig["encryption"] {
  if (g.ENCRYPTION === "off") {
    const stray = g.ENCRYPTION_KEYS
      ? "ENCRYPTION_KEYS"
      : g.ENCRYPTION_KEY_FILE
        ? "ENCRYPTION_KEY_FILE"
        : undefined;
    if (stray) throw invalid(`${stray} is only used with ENCRYPTION=on (ENCRYPTION is off)`);
    return undefined;
  }
  if (g.DOWNLOAD_MODE !== "proxy") {
    throw invalid(
      `ENCRYPTION=on needs DOWNLOAD_MODE=proxy: with DOWNLOAD_MODE=${g.DOWNLOAD_MODE} clients would fetch ciphertext from the store`,
    );
  }
  if (g.LEDGER === "off") {
    throw invalid("ENCRYPTION=on needs the ledger, which keeps the per-uid keys (LEDGER is off)");
  }
  if (g.ENCRYPTION_KEYS && g.ENCRYPTION_KEY_FILE) {
    throw invalid("ENCRYPTION_KEY_FILE cannot be combined with ENCRYPTION_KEYS: set one");
  }
  const name = g.ENCRYPTION_KEYS ? "ENCRYPTION_KEYS" : "ENCRYPTION_KEY_FILE";
  let text: string;
  if (g.ENCRYPTION_KEYS) text = g.ENCRYPTION_KEYS;
  else if (g.ENCRYPTION_KEY_FILE) {
    try {
      text = readFileSync(absolute(g.ENCRYPTION_KEY_FILE), "utf8");
    } catch (err) {
      throw invalid(
        `ENCRYPTION_KEY_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
  } else {
    throw invalid(
      "ENCRYPTION_KEYS (or ENCRYPTION_KEY_FILE) is required when ENCRYPTION=on (generate a key with: mediagate keys generate)",
    );
  }
  try {
    return { keys: KeyRing.parse(text, { name }) };
  } catch (err) {
    // The message names the entry by position, never its content.
    throw invalid((err as Error).message.replace(/\.$/, ""));
  }
}

function stripPolicy(value: string): StripPolicy | undefined {
  if (["on", "true", "yes", "1", "all"].includes(value)) return { sources: "all" };
  if (["off", "false", "no", "0", "none"].includes(value)) return undefined;
  const sources = new Set<number>();
  for (const name of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!/^\d+$/.test(name) && SOURCE_NAMES[name] === undefined) {
      throw invalid(
        `STRIP_METADATA "${name}" must be on, off, or mesibo sources (message, profile, group, thumbnail, unknown, custom, or a number)`,
      );
    }
    sources.add(sourceCode(name));
  }
  return { sources };
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
