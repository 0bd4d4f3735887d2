import { z } from "zod";
import {
  baseUrlField,
  booleanField,
  choiceField,
  durationField,
  endpointUrlField,
  mediaTypePatternsField,
  originsField,
  pathField,
  portField,
  secretListField,
  sizeField,
  trustProxyField,
  wholeNumberField,
} from "./fields.ts";

/**
 * Every variable the gateway reads, with the words the README's tables are generated from
 * (scripts/env-tables.ts). A variable is documented where it is declared, so the tables
 * cannot drift from what is parsed; a test fails when a README does.
 */
export interface VarDoc {
  /** The README table this variable is listed in. */
  section: string;
  /** The default as people read it (the parser applies the real one). */
  default: string;
  description: string;
}

export function documented<T extends z.ZodType>(field: T, doc: VarDoc): T {
  return field.meta({ ...doc }) as T;
}

/**
 * Documents variables declared elsewhere (a provider's schema, whose fields are chained
 * expressions): every one of `shape`'s keys must be given, or this does not compile.
 */
export function describeVars<Shape extends Record<string, z.ZodType>>(
  shape: Shape,
  section: string,
  docs: { [K in keyof Shape]: [defaultText: string, description: string] },
): void {
  for (const [name, [defaultText, description]] of Object.entries(docs) as [
    keyof Shape,
    [string, string],
  ][]) {
    z.globalRegistry.add(shape[name] as z.ZodType, { section, default: defaultText, description });
  }
}

/** The documentation of one variable, or undefined for an undocumented one. */
export function docOf(field: z.ZodType): VarDoc | undefined {
  const meta = z.globalRegistry.get(field) as Partial<VarDoc> | undefined;
  if (!meta?.section || meta.default === undefined || !meta.description) return undefined;
  return { section: meta.section, default: meta.default, description: meta.description };
}

/** Shorter tokens are guessable by brute force over the network. */
export const MIN_TOKEN_LENGTH = 16;
/** HMAC secrets shorter than this are guessable offline from a single token. */
export const MIN_SIGNING_SECRET_BYTES = 32;
/** Signed URLs cannot outlive seven days on any backend (SigV4, GCS v4, Azure SAS). */
const MAX_REDIRECT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export const DOWNLOAD_MODES = ["proxy", "redirect", "direct"] as const;
export const AUTH_MODES = ["tokens", "signed", "webhook"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

const perMinute = wholeNumberField(
  1,
  Number.MAX_SAFE_INTEGER,
  "60",
  "a whole number of requests per minute",
);

const server = {
  PORT: documented(portField.prefault("8080"), {
    section: "server",
    default: "`8080`",
    description: "listen port",
  }),
  HOST: documented(z.string().trim().min(1).default("0.0.0.0"), {
    section: "server",
    default: "`0.0.0.0`",
    description: "listen address",
  }),
  LOG_LEVEL: documented(choiceField(LOG_LEVELS).default("info"), {
    section: "server",
    default: "`info`",
    description: "pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`",
  }),
  NODE_ENV: documented(z.string().trim().optional(), {
    section: "server",
    default: "—",
    description: "`production` requires `AUTH_TOKENS` (no generated token)",
  }),
  TRUST_PROXY: documented(trustProxyField.prefault("false"), {
    section: "server",
    default: "`false`",
    description:
      "`true` or a hop count, to build URLs from `X-Forwarded-*` when `PUBLIC_BASE_URL` is unset, and to rate-limit by `X-Forwarded-For`",
  }),
  HEADERS_TIMEOUT: documented(durationField("30s").prefault("30s"), {
    section: "server",
    default: "`30s`",
    description: "a request whose headers take longer is cut with 408 (slowloris)",
  }),
  IDLE_TIMEOUT: documented(durationField("60s").prefault("60s"), {
    section: "server",
    default: "`60s`",
    description:
      "a connection whose client sends or reads nothing this long is closed; a slow but moving upload never is",
  }),
  SHUTDOWN_TIMEOUT: documented(durationField("30s").prefault("30s"), {
    section: "server",
    default: "`30s`",
    description: "on SIGTERM, time in-flight uploads get to finish",
  }),
};

const auth = {
  AUTH_MODE: documented(choiceField(AUTH_MODES).default("tokens"), {
    section: "auth",
    default: "`tokens`",
    description:
      "`tokens` (shared `AUTH_TOKENS`), `signed` (per-user expiring tokens) or `webhook` (your backend decides)",
  }),
  AUTH_TOKENS: documented(secretListField("token", MIN_TOKEN_LENGTH, "characters").optional(), {
    section: "auth",
    default: "generated per run; required when `NODE_ENV=production`",
    description: `comma-separated upload tokens (≥ ${MIN_TOKEN_LENGTH} characters each; several for rotation)`,
  }),
  AUTH_SIGNING_SECRETS: documented(
    secretListField("secret", MIN_SIGNING_SECRET_BYTES, "bytes").optional(),
    {
      section: "auth",
      default: "— (`signed`)",
      description: `HMAC secrets, newest first, ≥ ${MIN_SIGNING_SECRET_BYTES} bytes each; \`mediagate token --uid 42 --ttl 24h\` mints a token`,
    },
  ),
  AUTH_WEBHOOK_URL: documented(
    endpointUrlField("https://app.example.com/mediagate-auth").optional(),
    {
      section: "auth",
      default: "— (`webhook`)",
      description: "your backend's URL; gets `{auth, uid, mid, source}` as JSON, a 2xx allows",
    },
  ),
  AUTH_WEBHOOK_TIMEOUT: documented(durationField("5s").prefault("5s"), {
    section: "auth",
    default: "`5s`",
    description: "then 503 `AUTH_UNAVAILABLE` (also when the webhook is unreachable)",
  }),
  AUTH_WEBHOOK_CACHE_TTL: documented(durationField("60s", { allowZero: true }).prefault("60s"), {
    section: "auth",
    default: "`60s`",
    description: "how long an allowed token + uid pair is remembered (`0`: ask every time)",
  }),
  AUTH_WEBHOOK_CACHE_SIZE: documented(
    wholeNumberField(1, Number.MAX_SAFE_INTEGER, "10000").prefault("10000"),
    {
      section: "auth",
      default: "`10000`",
      description: "how many allowed pairs are remembered",
    },
  ),
};

const upload = {
  MAX_FILE_SIZE: documented(sizeField({ min: 1, example: "25mb" }).prefault("100mb"), {
    section: "upload",
    default: "`100mb`",
    description:
      "largest accepted file, bytes or `25mb` style; larger ones get 413 `FILE_TOO_LARGE`",
  }),
  ALLOWED_TYPES: documented(mediaTypePatternsField.optional(), {
    section: "upload",
    default: "any",
    description:
      "media types accepted, e.g. `image/*,video/*,audio/*,application/pdf`, checked on the file's bytes",
  }),
  STORAGE_TIMEOUT: documented(durationField("60s").prefault("60s"), {
    section: "upload",
    default: "`60s`",
    description:
      "a storage write that makes no progress this long is given up: 504 `STORAGE_TIMEOUT` (idle progress, not total time)",
  }),
  SPOOL_DIR: documented(pathField.optional(), {
    section: "upload",
    default: "OS temp folder",
    description:
      "where a file that arrives before its token waits (never in storage unauthenticated)",
  }),
  // No fixed default here: unset, it follows MAX_FILE_SIZE (see loadConfig).
  SPOOL_MAX_BYTES: documented(sizeField({ min: 1, example: "1gb" }).optional(), {
    section: "upload",
    default: "`1gb` (at least `MAX_FILE_SIZE`)",
    description:
      "total of such waiting files per process; a file that would go over is refused with 503 `SPOOL_FULL`",
  }),
};

const browsers = {
  CORS_ORIGINS: documented(originsField.optional(), {
    section: "browsers",
    default: "off",
    description:
      "web origins allowed to upload and download from a page (`https://app.example.com,https://admin.example.com`), or `*`",
  }),
};

const download = {
  LEFTOVER_AGE: documented(durationField("15m").prefault("15m"), {
    section: "upload",
    default: "`15m`",
    description:
      "spool and temp files a killed process left are removed once this old (at start, then every few minutes)",
  }),
  ABANDONED_UPLOAD_AGE: documented(durationField("24h").prefault("24h"), {
    section: "upload",
    default: "`24h`",
    description:
      "multipart uploads (S3) and staged blocks (Azure) begun this long ago are aborted (at start, then daily); longer than any upload takes",
  }),
  PUBLIC_BASE_URL: documented(baseUrlField.optional(), {
    section: "download",
    default: "the origin each upload reached",
    description:
      "public origin (and path) of download URLs, e.g. `https://media.example.com`; set it behind a proxy or CDN",
  }),
  DOWNLOAD_MODE: documented(choiceField(DOWNLOAD_MODES).default("proxy"), {
    section: "download",
    default: "`proxy`",
    description:
      "`proxy` (gateway streams), `redirect` (302 to a signed URL; not on `fs`) or `direct` (public bucket/CDN URL)",
  }),
  REDIRECT_URL_TTL: documented(
    durationField("5m")
      .refine((ms) => ms >= 1000 && ms <= MAX_REDIRECT_TTL_MS, {
        message: "must be from 1s to 7 days (the longest any backend signs for)",
      })
      .prefault("5m"),
    {
      section: "download",
      default: "`5m`",
      description: "lifetime of each signed URL in `redirect` mode",
    },
  ),
  PUBLIC_OBJECT_BASE_URL: documented(baseUrlField.optional(), {
    section: "download",
    default: "— (`direct`)",
    description: "e.g. `https://cdn.example.com/media`; uploads answer it + `/<key>`",
  }),
};

const limits = {
  RATE_LIMIT_UPLOADS_PER_MINUTE: documented(perMinute.optional(), {
    section: "limits",
    default: "off",
    description: "uploads per `uid` per minute; then 429 `RATE_LIMITED` with `Retry-After`",
  }),
  RATE_LIMIT_IP_PER_MINUTE: documented(perMinute.optional(), {
    section: "limits",
    default: "off",
    description: "upload requests per client address per minute (see `TRUST_PROXY`)",
  }),
  RATE_LIMIT_DOWNLOADS_PER_MINUTE: documented(perMinute.optional(), {
    section: "limits",
    default: "off",
    description: "downloads per client address per minute",
  }),
  MAX_CONNECTIONS_PER_IP: documented(wholeNumberField(0).prefault("256"), {
    section: "limits",
    default: "`256`",
    description:
      "open connections one client address may hold (`0`: no cap); not applied with `TRUST_PROXY`, where every connection comes from the proxy",
  }),
  MAX_UPLOADS_PER_IP: documented(wholeNumberField(0).prefault("256"), {
    section: "limits",
    default: "`256`",
    description:
      "uploads one client address (see `TRUST_PROXY`) may have in flight (`0`: no cap); then 429 `TOO_MANY_UPLOADS`",
  }),
  MIN_UPLOAD_RATE: documented(wholeNumberField(0).prefault("512"), {
    section: "limits",
    default: "`512`",
    description:
      "bytes per second an upload's body must average over each minute (`0`: off); slower is cut with 408 `UPLOAD_TOO_SLOW`",
  }),
  FIELDS_TIMEOUT: documented(durationField("30s").prefault("30s"), {
    section: "limits",
    default: "`30s`",
    description: "how long a file sent before its fields waits for them; then 408 `FIELDS_TIMEOUT`",
  }),
  REDIS_URL: documented(
    endpointUrlField("redis://localhost:6379", ["redis:", "rediss:"]).optional(),
    {
      section: "limits",
      default: "— (in memory)",
      description:
        "share the limits across instances; if Redis fails, limits go per-instance (logged)",
    },
  ),
};

const custody = {
  LEDGER: documented(choiceField(["sqlite", "postgres", "off"] as const).optional(), {
    section: "custody",
    default: "`sqlite` (`postgres` with `LEDGER_URL`)",
    description:
      "the record of stored objects behind erasure, export, retention, quotas and encryption keys; `off` makes the gateway a pure pipe",
  }),
  LEDGER_PATH: documented(pathField.prefault("./data/mediagate.db"), {
    section: "custody",
    default: "`./data/mediagate.db`",
    description: "the SQLite ledger's file (WAL mode; one gateway)",
  }),
  LEDGER_URL: documented(
    endpointUrlField("postgres://user:password@db:5432/mediagate", [
      "postgres:",
      "postgresql:",
    ]).optional(),
    {
      section: "custody",
      default: "—",
      description: "a PostgreSQL ledger, for several gateways sharing one store",
    },
  ),
  RETENTION: documented(z.string().trim().optional(), {
    section: "custody",
    default: "keep forever",
    description:
      "how long objects are kept per mesibo source, e.g. `message:365d,thumbnail:30d,profile:never,default:90d`",
  }),
  RETENTION_SWEEP_INTERVAL: documented(durationField("1m").prefault("1m"), {
    section: "custody",
    default: "`1m`",
    description: "how often expired objects are looked for",
  }),
  RETENTION_RATE: documented(wholeNumberField(1, Number.MAX_SAFE_INTEGER, "100").prefault("100"), {
    section: "custody",
    default: "`100`",
    description: "most expired objects deleted per second, so a backlog never floods the store",
  }),
  QUOTA_FILES_PER_DAY: documented(wholeNumberField(1).optional(), {
    section: "custody",
    default: "off",
    description: "uploads per uid per UTC day; then 429 `QUOTA_EXCEEDED_TODAY`",
  }),
  QUOTA_BYTES_PER_DAY: documented(sizeField({ min: 1, example: "1gb" }).optional(), {
    section: "custody",
    default: "off",
    description: "bytes per uid per UTC day; then 429 `QUOTA_EXCEEDED_TODAY`",
  }),
  QUOTA_BYTES_TOTAL: documented(sizeField({ min: 1, example: "10gb" }).optional(), {
    section: "custody",
    default: "off",
    description: "bytes a uid may hold in all; then 413 `QUOTA_EXCEEDED`",
  }),
  AUDIT_LOG: documented(pathField.optional(), {
    section: "custody",
    default: "the log",
    description: "a file of its own for the audit trail (JSON lines)",
  }),
  AUDIT_DOWNLOADS: documented(booleanField.optional(), {
    section: "custody",
    default: "`false`",
    description: "record every download too (key, range, client address, status)",
  }),
  ADMIN_TOKENS: documented(secretListField("token", MIN_TOKEN_LENGTH, "characters").optional(), {
    section: "custody",
    default: "off",
    description:
      "bearer tokens of the admin API (several for rotation); without them there is no admin API",
  }),
  ADMIN_PORT: documented(portField.optional(), {
    section: "custody",
    default: "the gateway's port",
    description: "serve the admin API on its own port instead, on `ADMIN_HOST`",
  }),
  ADMIN_HOST: documented(z.string().trim().min(1).default("127.0.0.1"), {
    section: "custody",
    default: "`127.0.0.1`",
    description:
      "the admin port's address: loopback, so it never faces the internet unless you say so",
  }),
};

const privacy = {
  ENCRYPTION: documented(choiceField(["on", "off"] as const).default("off"), {
    section: "privacy",
    default: "`off`",
    description:
      "`on`: every upload is encrypted in the gateway before it reaches storage, with a key per uid kept in the ledger (needs `ENCRYPTION_KEYS` or `ENCRYPTION_KEY_FILE`)",
  }),
  ENCRYPTION_KEYS: documented(z.string().optional(), {
    section: "privacy",
    default: "—",
    description:
      "master keys, base64 of 32 bytes, comma-separated, newest first (`mediagate keys generate` makes one); older ones keep opening what they wrapped",
  }),
  ENCRYPTION_KEY_FILE: documented(pathField.optional(), {
    section: "privacy",
    default: "—",
    description: "a file of master keys instead, one per line, newest first (a mounted secret)",
  }),
  STRIP_METADATA: documented(z.string().trim().toLowerCase().prefault("on"), {
    section: "privacy",
    default: "`on`",
    description:
      "remove location and device metadata from photos and videos: `on`, `off`, or the sources to strip (`message,group`)",
  }),
};

/** The storage variables every backend shares; each backend's own are in its provider. */
function storage(providerNames: readonly [string, ...string[]]) {
  return {
    STORAGE_PROVIDER: documented(
      z
        .string()
        .trim()
        .default("fs")
        .refine((name) => providerNames.includes(name), {
          message: `must be one of ${providerNames.join(", ")}`,
        }),
      {
        section: "storage",
        default: "`fs`",
        description: "`fs`, `s3`, `gcs` or `azure`; each backend's variables are below",
      },
    ),
    STORAGE_CREATE_BUCKET: documented(booleanField.optional(), {
      section: "storage",
      default: "`true` for `fs`, else `false`",
      description: "create the folder / bucket / container at start when missing",
    }),
  };
}

/**
 * Every variable the gateway itself reads. The selected provider's own variables are
 * validated by its `env` schema (see storage/providers). Input values are strings as in
 * process.env; unset and empty variables take the defaults.
 */
export function gatewayEnvSchema(providerNames: readonly [string, ...string[]]) {
  return z.object({
    ...server,
    ...auth,
    ...upload,
    ...download,
    ...browsers,
    ...limits,
    ...custody,
    ...privacy,
    ...storage(providerNames),
  });
}

export type GatewayEnv = z.output<ReturnType<typeof gatewayEnvSchema>>;

/** README sections, in the order their tables appear. */
export const SECTIONS = {
  storage: "Storage",
  server: "Server",
  auth: "Authentication",
  upload: "Uploads",
  download: "Downloads",
  browsers: "Browsers",
  limits: "Rate limits",
  custody: "Data custody",
  privacy: "Encryption and metadata",
} as const;
