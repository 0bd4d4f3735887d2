import type { QuotaLimits } from "@mediagate/ledger";
import type { KeyRing } from "@mediagate/encryption";
import type { AuditConfig } from "../custody/audit.ts";
import type { Retention } from "../custody/retention-rules.ts";
import type { TracingConfig } from "../observability/tracing.ts";
import type { StorageProvider } from "../storage/providers/index.ts";
import type { PaceConfig } from "../upload/pace.ts";
import type { StripPolicy } from "../upload/strip-hook.ts";
import type { AuthMode } from "./schema.ts";

/** A configuration problem an operator fixes in the environment; printed as one line. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export const invalid = (sentence: string) => new ConfigError(`Invalid configuration: ${sentence}`);

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

export interface OperationsConfig {
  /** Prometheus metrics; undefined with METRICS=off. `port` undefined: on the gateway's port. */
  metrics: { port: number | undefined; host: string } | undefined;
  /** OpenTelemetry traces; undefined without OTEL_EXPORTER_OTLP_ENDPOINT. */
  tracing: TracingConfig | undefined;
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
  operations: OperationsConfig;
  storage: StorageConfig;
}
