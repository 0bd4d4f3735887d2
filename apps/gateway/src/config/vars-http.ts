import { z } from "zod";
import {
  baseUrlField,
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
import { documented } from "./docs.ts";

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

export const perMinute = wholeNumberField(
  1,
  Number.MAX_SAFE_INTEGER,
  "60",
  "a whole number of requests per minute",
);

export const server = {
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

export const auth = {
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

export const upload = {
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

export const download = {
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

export const browsers = {
  CORS_ORIGINS: documented(originsField.optional(), {
    section: "browsers",
    default: "off",
    description:
      "web origins allowed to upload and download from a page (`https://app.example.com,https://admin.example.com`), or `*`",
  }),
};
