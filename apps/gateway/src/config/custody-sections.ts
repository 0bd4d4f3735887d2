import { readFileSync } from "node:fs";
import type { QuotaLimits } from "@mediagate/ledger";
import { KeyRing } from "@mediagate/encryption";
import { Retention } from "../custody/retention-rules.ts";
import { SOURCE_NAMES, sourceCode } from "../custody/sources.ts";
import type { StripPolicy } from "../upload/strip-hook.ts";
import type { GatewayEnv } from "./schema.ts";
import { invalid, type CustodyConfig, type OperationsConfig, type PrivacyConfig } from "./types.ts";

export function custodySection(g: GatewayEnv, absolute: (path: string) => string): CustodyConfig {
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

export function privacySection(g: GatewayEnv, absolute: (path: string) => string): PrivacyConfig {
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

export function operationsSection(g: GatewayEnv): OperationsConfig {
  if (g.METRICS === "off" && g.METRICS_PORT !== undefined) {
    throw invalid("METRICS_PORT is only used with METRICS=on (METRICS is off)");
  }
  if (g.METRICS_PORT !== undefined && g.METRICS_PORT !== 0 && g.METRICS_PORT === g.PORT) {
    throw invalid("METRICS_PORT must differ from PORT (unset it to serve /metrics on PORT)");
  }
  return {
    metrics: g.METRICS === "on" ? { port: g.METRICS_PORT, host: g.METRICS_HOST } : undefined,
    tracing: g.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { endpoint: g.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: g.OTEL_SERVICE_NAME }
      : undefined,
  };
}
