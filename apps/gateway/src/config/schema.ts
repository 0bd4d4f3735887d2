import { z } from "zod";
import { parseDuration, parseSize } from "./units.ts";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** Shorter tokens are guessable by brute force over the network. */
export const MIN_TOKEN_LENGTH = 16;

const size = (example: string) =>
  z.string().transform((text, ctx) => {
    const bytes = parseSize(text);
    if (bytes === undefined || bytes < 1) {
      ctx.addIssue({ code: "custom", message: `must be a size in bytes or like ${example}` });
      return z.NEVER;
    }
    return bytes;
  });

const duration = (example: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < 1) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration like ${example} (a bare number is seconds)`,
      });
      return z.NEVER;
    }
    return ms;
  });

const boolean = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  ctx.addIssue({ code: "custom", message: "must be true or false" });
  return z.NEVER;
});

const tokens = z.string().transform((text, ctx) => {
  const list = text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 0) {
    ctx.addIssue({ code: "custom", message: "must list at least one token (comma-separated)" });
    return z.NEVER;
  }
  // Messages never quote a token: this line ends up in terminals and log collectors.
  list.forEach((token, i) => {
    if (token.length < MIN_TOKEN_LENGTH) {
      ctx.addIssue({
        code: "custom",
        message: `token ${i + 1} is shorter than ${MIN_TOKEN_LENGTH} characters (generate one with: openssl rand -hex 32)`,
      });
    } else if (!/^[\x21-\x7e]+$/.test(token)) {
      ctx.addIssue({
        code: "custom",
        message: `token ${i + 1} must be printable ASCII without spaces`,
      });
    }
  });
  return list;
});

const publicBaseUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    ctx.addIssue({
      code: "custom",
      message: "must be an absolute URL like https://media.example.com",
    });
    return z.NEVER;
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.search ||
    url.hash ||
    url.username
  ) {
    ctx.addIssue({
      code: "custom",
      message: "must be an http(s) URL without credentials, query or fragment",
    });
    return z.NEVER;
  }
  return url.href.replace(/\/+$/, "");
});

const trustProxy = z.string().transform((text, ctx): boolean | number => {
  const value = text.trim().toLowerCase();
  if (/^\d+$/.test(value)) return Number(value);
  if (value === "true") return true;
  if (value === "false") return false;
  ctx.addIssue({ code: "custom", message: "must be true, false or a number of proxy hops" });
  return z.NEVER;
});

const mediaTypePatterns = z.string().transform((text, ctx) => {
  const list = text
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  for (const pattern of list) {
    if (!/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/.test(pattern)) {
      ctx.addIssue({
        code: "custom",
        message: `"${pattern}" is not a media type like image/jpeg or image/*`,
      });
    }
  }
  return list;
});

/** Signed URLs cannot outlive seven days on any backend (SigV4, GCS v4, Azure SAS). */
const MAX_REDIRECT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export const DOWNLOAD_MODES = ["proxy", "redirect", "direct"] as const;

const perMinute = z.string().transform((text, ctx) => {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value < 1 || !Number.isSafeInteger(value)) {
    ctx.addIssue({
      code: "custom",
      message: "must be a whole number of requests per minute (≥ 1)",
    });
    return z.NEVER;
  }
  return value;
});

const redisUrl = z.string().transform((text, ctx) => {
  try {
    const url = new URL(text.trim());
    if (url.protocol === "redis:" || url.protocol === "rediss:") return url.href;
  } catch {
    // Reported below.
  }
  ctx.addIssue({ code: "custom", message: "must be a URL like redis://localhost:6379" });
  return z.NEVER;
});

export const AUTH_MODES = ["tokens", "signed", "webhook"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
/** HMAC secrets shorter than this are guessable offline from a single token. */
export const MIN_SIGNING_SECRET_BYTES = 32;

const signingSecrets = z.string().transform((text, ctx) => {
  const list = text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 0) {
    ctx.addIssue({ code: "custom", message: "must list at least one secret (newest first)" });
    return z.NEVER;
  }
  list.forEach((secret, i) => {
    if (Buffer.byteLength(secret, "utf8") < MIN_SIGNING_SECRET_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `secret ${i + 1} is shorter than ${MIN_SIGNING_SECRET_BYTES} bytes (generate one with: openssl rand -hex 32)`,
      });
    }
  });
  return list;
});

const webhookUrl = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hash) {
    ctx.addIssue({
      code: "custom",
      message: "must be an http(s) URL like https://app.example.com/mediagate-auth",
    });
    return z.NEVER;
  }
  return url.href;
});

const count = (example: string, min: number) =>
  z.string().transform((text, ctx) => {
    const value = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
      ctx.addIssue({ code: "custom", message: `must be a whole number ≥ ${min}, like ${example}` });
      return z.NEVER;
    }
    return value;
  });

/** Like `duration`, but 0 is allowed (it switches the feature off). */
const durationOrZero = (example: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration like ${example}, or 0 to turn it off`,
      });
      return z.NEVER;
    }
    return ms;
  });

const port = z.string().transform((text, ctx) => {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value > 65535) {
    ctx.addIssue({ code: "custom", message: "must be a port number from 0 to 65535" });
    return z.NEVER;
  }
  return value;
});

/**
 * Every variable the gateway itself reads. The selected provider's own variables are
 * validated by its `env` schema (see storage/providers). Input values are strings as in
 * process.env; unset and empty variables take the defaults.
 */
export function gatewayEnvSchema(providerNames: readonly [string, ...string[]]) {
  return z.object({
    STORAGE_PROVIDER: z
      .string()
      .trim()
      .default("fs")
      .refine((name) => providerNames.includes(name), {
        message: `must be one of ${providerNames.join(", ")}`,
      }),
    STORAGE_CREATE_BUCKET: boolean.optional(),
    AUTH_TOKENS: tokens.optional(),
    AUTH_MODE: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(AUTH_MODES, { message: `must be one of ${AUTH_MODES.join(", ")}` }))
      .default("tokens"),
    AUTH_SIGNING_SECRETS: signingSecrets.optional(),
    AUTH_WEBHOOK_URL: webhookUrl.optional(),
    AUTH_WEBHOOK_TIMEOUT: duration("5s").prefault("5s"),
    AUTH_WEBHOOK_CACHE_TTL: durationOrZero("60s").prefault("60s"),
    AUTH_WEBHOOK_CACHE_SIZE: count("10000", 1).prefault("10000"),
    PUBLIC_BASE_URL: publicBaseUrl.optional(),
    TRUST_PROXY: trustProxy.prefault("false"),
    MAX_FILE_SIZE: size("25mb").prefault("100mb"),
    ALLOWED_TYPES: mediaTypePatterns.optional(),
    PORT: port.prefault("8080"),
    HOST: z.string().trim().min(1).default("0.0.0.0"),
    LOG_LEVEL: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }))
      .default("info"),
    NODE_ENV: z.string().trim().optional(),
    HEADERS_TIMEOUT: duration("30s").prefault("30s"),
    IDLE_TIMEOUT: duration("60s").prefault("60s"),
    SHUTDOWN_TIMEOUT: duration("30s").prefault("30s"),
    STORAGE_TIMEOUT: duration("60s").prefault("60s"),
    SPOOL_DIR: z.string().trim().min(1).optional(),
    // No fixed default here: unset, it follows MAX_FILE_SIZE (see loadConfig).
    SPOOL_MAX_BYTES: size("1gb").optional(),
    DOWNLOAD_MODE: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(DOWNLOAD_MODES, { message: `must be one of ${DOWNLOAD_MODES.join(", ")}` }))
      .default("proxy"),
    REDIRECT_URL_TTL: duration("5m")
      .refine((ms) => ms >= 1000 && ms <= MAX_REDIRECT_TTL_MS, {
        message: "must be from 1s to 7 days (the longest any backend signs for)",
      })
      .prefault("5m"),
    PUBLIC_OBJECT_BASE_URL: publicBaseUrl.optional(),
    RATE_LIMIT_UPLOADS_PER_MINUTE: perMinute.optional(),
    RATE_LIMIT_IP_PER_MINUTE: perMinute.optional(),
    RATE_LIMIT_DOWNLOADS_PER_MINUTE: perMinute.optional(),
    REDIS_URL: redisUrl.optional(),
  });
}

export type GatewayEnv = z.output<ReturnType<typeof gatewayEnvSchema>>;
