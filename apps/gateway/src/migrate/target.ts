import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import type { z } from "zod";
import { ConfigError, type StorageConfig } from "../config/load.ts";
import { booleanField } from "../config/fields.ts";
import { providers, type ProviderName } from "../storage/providers/index.ts";

/** The ledger's `backend` column holds at most this many characters. */
const MAX_BACKEND_NAME = 64;

/**
 * The backend to copy to, from a dotenv file holding STORAGE_PROVIDER and that provider's
 * variables, checked by the same schemas as the gateway's own configuration. Nothing else
 * in the file is read, and the process environment is not merged in: the source's
 * credentials must never leak into the target's settings.
 */
export function readTargetFile(path: string, baseDir: string): StorageConfig {
  const file = resolve(baseDir, path);
  let parsed: Record<string, string>;
  try {
    parsed = parseDotenv(readFileSync(file));
  } catch (err) {
    throw new ConfigError(
      `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  // `X=` means "not set", as in the gateway's own configuration.
  const env = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v.trim() !== ""));
  const name = env.STORAGE_PROVIDER?.trim();
  const names = Object.keys(providers).join(", ");
  if (name === undefined) {
    throw new ConfigError(
      `${path}: STORAGE_PROVIDER is required: the backend to copy to (${names})`,
    );
  }
  const provider = Object.hasOwn(providers, name) ? providers[name as ProviderName] : undefined;
  if (!provider) throw new ConfigError(`${path}: STORAGE_PROVIDER must be one of ${names}`);
  const settings = provider.env.safeParse(env);
  if (!settings.success) throw new ConfigError(`${path}: ${describeIssues(settings.error.issues)}`);
  let createBucket = provider.name === "fs";
  if (env.STORAGE_CREATE_BUCKET !== undefined) {
    const flag = booleanField.safeParse(env.STORAGE_CREATE_BUCKET);
    if (!flag.success)
      throw new ConfigError(`${path}: STORAGE_CREATE_BUCKET must be true or false`);
    createBucket = flag.data;
  }
  // Relative paths resolve as the gateway resolves them once this file is its configuration.
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return { provider, env: resolvePaths(settings.data, absolute), createBucket };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const variable = issue.path.map(String).join(".");
      return variable ? `${variable} ${issue.message}` : issue.message;
    })
    .join("; ");
}

/** The gateway's rule (config/load.ts): variables ending in _ROOT, _FILE or _DIR are paths. */
function resolvePaths(values: unknown, absolute: (path: string) => string): unknown {
  if (typeof values !== "object" || values === null) return values;
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      typeof value === "string" && /_(ROOT|FILE|DIR)$/.test(name) ? absolute(value) : value,
    ]),
  );
}

const hostOf = (url: unknown): string | undefined => {
  if (typeof url !== "string") return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

/** `Name=value;` fields of an Azure connection string, without its secrets. */
const connectionField = (text: unknown, field: string): string | undefined =>
  typeof text === "string"
    ? new RegExp(`(?:^|;)\\s*${field}=([^;]+)`, "i").exec(text)?.[1]?.trim()
    : undefined;

/**
 * Where a store's objects live, without credentials: two configurations with the same
 * identity are the same objects (same folder, or same bucket and prefix on the same service).
 */
export function storeIdentity(store: StorageConfig): string {
  const env = store.env as Record<string, unknown>;
  const text = (name: string) => (typeof env[name] === "string" ? (env[name] as string) : "");
  const under = (prefix: string) => (prefix ? `/${prefix.replace(/^\/+|\/+$/g, "")}` : "");
  switch (store.provider.name) {
    case "fs":
      return text("FS_ROOT");
    case "s3":
      return `${hostOf(env.S3_ENDPOINT) ?? "aws"}/${text("S3_BUCKET")}${under(text("S3_PREFIX"))}`;
    case "gcs":
      return `${hostOf(env.GCS_API_ENDPOINT) ?? "google"}/${text("GCS_BUCKET")}${under(text("GCS_PREFIX"))}`;
    case "azure": {
      const cs = env.AZURE_STORAGE_CONNECTION_STRING;
      const account =
        text("AZURE_STORAGE_ACCOUNT") ||
        connectionField(cs, "AccountName") ||
        (connectionField(cs, "UseDevelopmentStorage") ? "devstoreaccount1" : "");
      const host = hostOf(env.AZURE_BLOB_ENDPOINT) ?? hostOf(connectionField(cs, "BlobEndpoint"));
      return `${host ?? "azure"}/${account}/${text("AZURE_CONTAINER")}${under(text("AZURE_PREFIX"))}`;
    }
  }
}

/**
 * The name migrated records get in the ledger. A different kind of backend is simply its
 * provider name ("s3"), what the gateway records once switched over. A store of the same
 * kind as the source needs more, or a re-run could not tell moved records from the rest:
 * `<kind>:<identity>` (a short hash of the identity when that would not fit).
 */
export function ledgerName(target: StorageConfig, sameKind: boolean): string {
  const kind = target.provider.name;
  if (!sameKind) return kind;
  const identity = storeIdentity(target);
  const full = `${kind}:${identity}`;
  if (full.length <= MAX_BACKEND_NAME) return full;
  return `${kind}:${createHash("sha256").update(identity).digest("hex").slice(0, 16)}`;
}
