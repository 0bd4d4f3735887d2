import { z } from "zod";
import {
  booleanField,
  choiceField,
  durationField,
  endpointUrlField,
  pathField,
  portField,
  secretListField,
  sizeField,
  wholeNumberField,
} from "./fields.ts";
import { documented } from "./docs.ts";

import { MIN_TOKEN_LENGTH, perMinute } from "./vars-http.ts";

export const limits = {
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
      "bytes per second an upload's body must average over each `MIN_UPLOAD_RATE_WINDOW` (`0`: off); slower is cut with 408 `UPLOAD_TOO_SLOW`",
  }),
  MIN_UPLOAD_RATE_WINDOW: documented(durationField("60s").prefault("60s"), {
    section: "limits",
    default: "`60s`",
    description:
      "the window `MIN_UPLOAD_RATE` is averaged over: a phone may stall for seconds and still pass",
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

export const custody = {
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

export const privacy = {
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

export const operations = {
  METRICS: documented(choiceField(["on", "off"] as const).default("on"), {
    section: "operations",
    default: "`on`",
    description:
      "Prometheus metrics at `/metrics` (on the gateway's port unless `METRICS_PORT` is set: set it when the gateway faces the internet)",
  }),
  METRICS_PORT: documented(portField.optional(), {
    section: "operations",
    default: "the gateway's port",
    description: "serve `/metrics` on its own port instead, on `METRICS_HOST`",
  }),
  METRICS_HOST: documented(z.string().trim().min(1).default("0.0.0.0"), {
    section: "operations",
    default: "`0.0.0.0`",
    description: "the metrics port's address (Prometheus scrapes it across the network)",
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: documented(
    endpointUrlField("http://otel-collector:4318").optional(),
    {
      section: "operations",
      default: "off",
      description:
        "an OTLP/HTTP collector: a trace per request, with spans for authentication and each storage operation, ids on the request's log line",
    },
  ),
  OTEL_SERVICE_NAME: documented(z.string().trim().min(1).default("mediagate"), {
    section: "operations",
    default: "`mediagate`",
    description: "the service name the traces carry",
  }),
};
