import type { NextFunction, Request, Response } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { DOWNLOAD_PREFIX } from "../upload/public-url.ts";
import type { UploadHook } from "../upload/store.ts";

/** Seconds: from a fast health probe to a large upload on a slow link. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Bytes: a chat's sizes, from thumbnails to videos. */
const SIZE_BUCKETS = [
  1024, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456,
  1_073_741_824,
];

/**
 * The gateway's Prometheus metrics (prom-client), in base units, with bounded labels only:
 * a route class, a method, a status class, a backend, an operation, an error code — never
 * a uid, a key or a path.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly uploads: Counter<"result" | "backend">;
  readonly uploadBytes: Counter<"backend">;
  readonly uploadSize: Histogram<"backend">;
  readonly downloadBytes: Counter<"backend">;
  readonly requestDuration: Histogram<"route" | "method" | "status">;
  readonly storageDuration: Histogram<"backend" | "operation" | "outcome">;
  readonly storageErrors: Counter<"backend" | "operation" | "code">;
  readonly uploadsInFlight: Gauge;
  readonly spoolBytes: Gauge;
  readonly limitRefusals: Counter<"limit">;
  readonly ledgerRecords: Counter<"outcome">;
  readonly retentionDeleted: Counter;
  readonly erasures: Counter<"event">;
  readonly sweeps: Counter<"outcome">;
  readonly backend: string;

  constructor(backend: string, spoolUsed: () => number) {
    this.backend = backend;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "mediagate_" });
    this.uploads = new Counter({
      name: "mediagate_uploads_total",
      help: "Uploads answered, by result: stored, or the refusal's error code.",
      labelNames: ["result", "backend"],
      registers,
    });
    this.uploadBytes = new Counter({
      name: "mediagate_upload_bytes_total",
      help: "Bytes of uploads stored.",
      labelNames: ["backend"],
      registers,
    });
    this.uploadSize = new Histogram({
      name: "mediagate_upload_size_bytes",
      help: "Sizes of stored uploads.",
      labelNames: ["backend"],
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.downloadBytes = new Counter({
      name: "mediagate_download_bytes_total",
      help: "Bytes of downloads answered whole.",
      labelNames: ["backend"],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "mediagate_http_request_duration_seconds",
      help: "Time from request to the end of its answer, by route class and status class (499: the client left).",
      labelNames: ["route", "method", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.storageDuration = new Histogram({
      name: "mediagate_storage_operation_duration_seconds",
      help: "Storage backend operations, by operation and outcome.",
      labelNames: ["backend", "operation", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.storageErrors = new Counter({
      name: "mediagate_storage_errors_total",
      help: "Storage operations that failed, by operation and StorageError code.",
      labelNames: ["backend", "operation", "code"],
      registers,
    });
    this.uploadsInFlight = new Gauge({
      name: "mediagate_uploads_in_flight",
      help: "Upload requests being received or stored now.",
      registers,
    });
    this.spoolBytes = new Gauge({
      name: "mediagate_spool_bytes",
      help: "Bytes of files sent before their fields, waiting in SPOOL_DIR.",
      registers,
      collect() {
        this.set(spoolUsed());
      },
    });
    this.limitRefusals = new Counter({
      name: "mediagate_limit_refusals_total",
      help: "Requests refused by a rate limit, a quota or a connection/upload cap, by limit.",
      labelNames: ["limit"],
      registers,
    });
    this.ledgerRecords = new Counter({
      name: "mediagate_ledger_records_total",
      help: "Uploads the ledger recorded, refused (an erasure raced them) or could not record.",
      labelNames: ["outcome"],
      registers,
    });
    this.retentionDeleted = new Counter({
      name: "mediagate_retention_deleted_total",
      help: "Objects the retention sweeper removed.",
      registers,
    });
    this.erasures = new Counter({
      name: "mediagate_erasures_total",
      help: "Erasures of a uid started and finished.",
      labelNames: ["event"],
      registers,
    });
    this.sweeps = new Counter({
      name: "mediagate_retention_sweeps_total",
      help: "Retention sweeps run, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
  }

  /** Counts what each request was and how long it took, once it is over. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const started = process.hrtime.bigint();
      const route = routeOf(req);
      const upload = route === "upload" && req.method === "POST";
      if (upload) this.uploadsInFlight.inc();
      res.once("close", () => {
        const finished = res.writableFinished;
        const status = finished ? `${Math.floor(res.statusCode / 100)}xx` : "499";
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.requestDuration.observe({ route, method: req.method, status }, seconds);
        const refusal = (res.locals as { refusal?: { code: string } }).refusal;
        if (refusal && LIMITS.has(refusal.code))
          this.limitRefusals.inc({ limit: refusal.code.toLowerCase() });
        if (upload) {
          this.uploadsInFlight.dec();
          const result =
            res.statusCode === 200 && finished ? "stored" : (refusal?.code ?? "aborted");
          this.uploads.inc({ result, backend: this.backend });
        } else if (route === "download" && finished && res.statusCode < 300) {
          this.downloadBytes.inc(
            { backend: this.backend },
            Number(res.getHeader("content-length") ?? 0),
          );
        }
      });
      next();
    };
  }

  /** Stored uploads' bytes and sizes, counted once the store step has committed them. */
  hook(): UploadHook {
    return {
      commit: (_upload, stored) => {
        this.uploadBytes.inc({ backend: this.backend }, stored.size);
        this.uploadSize.observe({ backend: this.backend }, stored.size);
      },
    };
  }
}

/** Refusal codes that are a limit doing its job (counted in mediagate_limit_refusals_total). */
const LIMITS = new Set([
  "RATE_LIMITED",
  "QUOTA_EXCEEDED",
  "QUOTA_EXCEEDED_TODAY",
  "TOO_MANY_UPLOADS",
  "TOO_MANY_CONNECTIONS",
  "SPOOL_FULL",
  "UPLOAD_TOO_SLOW",
]);

function routeOf(req: Request): string {
  const path = req.path;
  if (path === "/" || path === "/upload") return req.method === "POST" ? "upload" : "status";
  if (path.startsWith(DOWNLOAD_PREFIX)) return "download";
  if (path === "/healthz" || path === "/readyz") return "health";
  if (path.startsWith("/admin/")) return "admin";
  if (path === "/metrics") return "metrics";
  return "other";
}
