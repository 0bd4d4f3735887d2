import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import type { z } from "zod";
import { providers, type ProviderName } from "../storage/providers/index.ts";
import { custodySection, operationsSection, privacySection } from "./custody-sections.ts";
import { gatewayEnvSchema } from "./schema.ts";
import { authSection, downloadSection, serverSection, uploadSection } from "./sections.ts";
import { ConfigError, invalid, type GatewayConfig } from "./types.ts";

export { DEFAULT_SPOOL_MAX_BYTES } from "./sections.ts";
export * from "./types.ts";

type Env = Record<string, string | undefined>;

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
      rateWindowMs: g.MIN_UPLOAD_RATE_WINDOW,
      fieldsTimeoutMs: g.FIELDS_TIMEOUT,
      uploadsPerUid: g.RATE_LIMIT_UPLOADS_PER_MINUTE,
      uploadsPerIp: g.RATE_LIMIT_IP_PER_MINUTE,
      downloadsPerIp: g.RATE_LIMIT_DOWNLOADS_PER_MINUTE,
      redisUrl: g.REDIS_URL,
    },
    custody: custodySection(g, absolute),
    privacy: privacySection(g, absolute),
    operations: operationsSection(g),
    storage: {
      provider,
      env: resolveRelativePaths(providerEnv.data, absolute),
      // A local folder is safe to create; a cloud bucket is an operator's decision.
      createBucket: g.STORAGE_CREATE_BUCKET ?? provider.name === "fs",
    },
  };
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
