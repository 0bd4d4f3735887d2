import { Transform, type TransformCallback } from "node:stream";
import { isLedgerError, type Admission, type Ledger, type QuotaLimits } from "@mediagate/ledger";
import { HttpError } from "../http/errors.ts";
import { cleanFileName } from "../upload/metadata.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { PendingUpload, UploadHook } from "../upload/store.ts";
import type { Retention } from "./retention-rules.ts";
import { sourceCode } from "./sources.ts";

export interface LedgerHookOptions {
  ledger: Ledger;
  /** The backend's name, recorded with each object ("fs", "s3"…). */
  backend: string;
  retention: Retention | undefined;
  quotas: QuotaLimits | undefined;
  /** The clock (tests move it). */
  now: () => Date;
  metrics?: Metrics | undefined;
}

/** A ledger that does not answer: the upload is refused for now, never stored unrecorded. */
export function ledgerUnavailable(cause: unknown): HttpError {
  return new HttpError("LEDGER_UNAVAILABLE", "The upload ledger is unavailable; try again later.", {
    cause,
  });
}

/** Runs a ledger call, turning its failures into the answer the client should get. */
export async function askLedger<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isLedgerError(err, "Unavailable")) throw ledgerUnavailable(err);
    throw err;
  }
}

function refusal(admission: Exclude<Admission, { status: "admitted" }>): HttpError {
  if (admission.status === "erasing") {
    return new HttpError("UID_ERASING", "This user's files are being erased; try again later.");
  }
  // A daily limit reopens at the next UTC midnight; the total only once files are removed.
  if (admission.limit === "bytesTotal") {
    return new HttpError("QUOTA_EXCEEDED", "This user's storage quota is used up.");
  }
  const midnight = new Date();
  midnight.setUTCHours(24, 0, 0, 0);
  const retryAfter = Math.max(1, Math.ceil((midnight.getTime() - Date.now()) / 1000));
  return new HttpError("QUOTA_EXCEEDED_TODAY", "This user's daily upload quota is used up.", {
    headers: { "Retry-After": String(retryAfter) },
  });
}

/** A reservation is raised a step at a time while a file of unknown size streams. */
const GROW_STEP = 1024 * 1024;

/**
 * The ledger's place in the store step. With quotas, an upload is admitted by reserving room
 * for it (its size, or the request's length, when known; else as it streams, a step at a
 * time, so concurrent uploads of a uid can pass a limit by at most one step). The commit
 * records the stored object (refused when an erasure of its uid began meanwhile, and then
 * removed); a failed upload drops what it reserved or recorded.
 */
export function ledgerHook(options: LedgerHookOptions): UploadHook {
  const { ledger, quotas, now } = options;
  const limited = (upload: PendingUpload) =>
    quotas !== undefined && upload.fields.uid !== undefined;
  return {
    async admit(upload) {
      if (!quotas || upload.fields.uid === undefined) return;
      const admission = await askLedger(() =>
        ledger.reserve({
          uid: upload.fields.uid as string,
          key: upload.key,
          bytes: upload.size ?? upload.sizeHint ?? 0,
          limits: quotas,
          now: now(),
        }),
      );
      if (admission.status !== "admitted") throw refusal(admission);
    },
    transform(upload) {
      if (!limited(upload) || upload.size !== undefined || upload.sizeHint !== undefined) return;
      return new ReservationMeter(async (bytes) => {
        const admission = await askLedger(() =>
          ledger.grow(upload.key, bytes, { limits: quotas as QuotaLimits, now: now() }),
        );
        if (admission.status !== "admitted") throw refusal(admission);
      });
    },
    async commit(upload, stored) {
      const createdAt = now();
      const records = options.metrics?.ledgerRecords;
      const result = await askLedger(() =>
        ledger.record(
          {
            key: stored.key,
            backend: options.backend,
            uid: upload.fields.uid ?? null,
            mid: upload.fields.mid,
            source: sourceCode(upload.fields.source),
            name: cleanFileName(upload.originalName),
            size: stored.size,
            sha256: stored.sha256,
            contentType: upload.contentType,
            createdAt,
            expiresAt: options.retention?.expiry(upload.fields.source, createdAt) ?? null,
            attributes: upload.finalMetadata,
          },
          { uploadStartedAt: upload.startedAt },
        ),
      ).catch((err: unknown) => {
        records?.inc({ outcome: "error" });
        throw err;
      });
      records?.inc({ outcome: result.status });
      if (result.status === "refused") {
        throw new HttpError("UID_ERASING", "This user's files were erased while it uploaded.");
      }
    },
    async abandon(upload) {
      // Whatever this upload left in the ledger: a record, or a reservation. Keys are this
      // upload's own, so nothing of another is touched.
      await askLedger(() => ledger.remove(upload.key));
      if (limited(upload)) await askLedger(() => ledger.release(upload.key));
    },
  };
}

/** Raises a reservation as the bytes pass, waiting for the ledger before letting more by. */
class ReservationMeter extends Transform {
  #bytes = 0;
  #reserved = 0;
  readonly #grow: (bytes: number) => Promise<void>;

  constructor(grow: (bytes: number) => Promise<void>) {
    super();
    this.#grow = grow;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes <= this.#reserved) return done(null, chunk);
    this.#reserved = this.#bytes + GROW_STEP;
    this.#grow(this.#reserved).then(
      () => done(null, chunk),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
