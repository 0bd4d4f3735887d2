import { Bucket, IdempotencyStrategy, Storage, type StorageOptions } from "@google-cloud/storage";
import {
  BaseAdapter,
  resolveFinalMetadata,
  resolveRange,
  StorageError,
  type ByteRange,
  type ListEntry,
  type NormalizedWriteOptions,
  type ObjectInfo,
  type ReadResult,
  type SignedUrlOptions,
  type StorageErrorCode,
} from "@mediagate/core";
import { PassThrough, Readable } from "node:stream";
import { canSignLocally, parseCredentials, type GoogleCredentials } from "./credentials.ts";
import { openMedia } from "./download.ts";
import { classifyGcsError } from "./errors.ts";
import { untilAborted } from "./signal.ts";
import { toListEntry, toObjectInfo } from "./object-info.ts";
import { uploadObject, type UploadLimits } from "./upload.ts";
import { nativeCrc32cGenerator } from "./crc32c.ts";

const MiB = 1024 * 1024;
const CHUNK_GRANULARITY = 256 * 1024;
export const DEFAULT_ABORT_GRACE_MS = 3_000;

/** Tuning shared by both ways of building an adapter. */
export interface GcsAdapterTuning {
  /** Namespace inside the bucket ("tenant-a/media"); callers only see keys below it. */
  prefix?: string;
  /** Bodies up to this size are uploaded in a single request. Default 8 MiB. */
  singleRequestMaxBytes?: number;
  /** Bytes per resumable-upload request, a multiple of 256 KiB. Default 8 MiB. */
  chunkSize?: number;
  /**
   * After an abort or failure, milliseconds a single-request upload already sent may still
   * answer, so that what it stored is deleted after it (default 3 s).
   */
  abortGraceMs?: number;
  /**
   * Whether `signedUrl` is offered. By default it is, unless the adapter talks to an
   * emulator (`apiEndpoint`) without credentials, where nothing could sign.
   */
  signedUrls?: boolean;
}

/** Building the adapter from settings; it creates its own `Storage` client. */
export interface GcsAdapterConfig extends GcsAdapterTuning {
  bucket: string;
  projectId?: string;
  /**
   * Credentials as a key file's JSON: the parsed object, the raw JSON text, or base64 of
   * it. Without `credentials` or `keyFile`, Application Default Credentials are used.
   */
  credentials?: string | GoogleCredentials;
  /** Path to a service-account key file. */
  keyFile?: string;
  /** Another endpoint, e.g. an emulator (`http://localhost:4443`). No auth is sent to it. */
  apiEndpoint?: string;
  /**
   * The SDK's retry settings: exponential back-off on 408, 429 (rateLimitExceeded), 5xx
   * and network errors. The adapter's default strategy is `RetryAlways` rather than the
   * SDK's `RetryConditional`, which would not retry an upload or a delete at all (and, after
   * one resumable upload, stops retrying anything on that client): every upload here sends
   * a whole object, so sending it again can only store the same bytes.
   */
  retry?: StorageOptions["retryOptions"];
}

/**
 * Building the adapter around a client the application already has: its `Bucket`, or its
 * `Storage` and a bucket name.
 */
export type GcsAdapterFromClient = GcsAdapterTuning &
  ({ bucket: Bucket; storage?: undefined } | { storage: Storage; bucket: string });

const GOOGLE_ENDPOINT = /^https:\/\/([a-z0-9-]+\.)*googleapis\.com\/?$/;

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StorageError("InvalidArgument", `${name} must be a non-negative integer.`, {
      operation: "configure",
    });
  }
  return value;
}

function uploadLimits(tuning: GcsAdapterTuning): UploadLimits {
  const chunkSize = nonNegativeInteger(tuning.chunkSize ?? 8 * MiB, "chunkSize");
  if (chunkSize === 0 || chunkSize % CHUNK_GRANULARITY !== 0) {
    throw new StorageError("InvalidArgument", "chunkSize must be a positive multiple of 256 KiB.", {
      operation: "configure",
    });
  }
  const abortGraceMs = nonNegativeInteger(
    tuning.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS,
    "abortGraceMs",
  );
  return {
    chunkSize,
    abortGraceMs,
    singleRequestMaxBytes: nonNegativeInteger(
      tuning.singleRequestMaxBytes ?? 8 * MiB,
      "singleRequestMaxBytes",
    ),
  };
}

function clientFromConfig(config: GcsAdapterConfig): { bucket: Bucket; canSign: boolean } {
  if (config.credentials !== undefined && config.keyFile !== undefined) {
    throw new StorageError(
      "InvalidArgument",
      "Give GCS credentials inline or as a key file, not both.",
      {
        operation: "configure",
      },
    );
  }
  const credentials =
    config.credentials === undefined ? undefined : parseCredentials(config.credentials);
  const storage = new Storage({
    ...(config.projectId !== undefined && { projectId: config.projectId }),
    ...(credentials !== undefined && { credentials }),
    ...(config.keyFile !== undefined && { keyFilename: config.keyFile }),
    ...(config.apiEndpoint !== undefined && { apiEndpoint: config.apiEndpoint }),
    retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways, ...config.retry },
  });
  // The SDK also honours STORAGE_EMULATOR_HOST when no endpoint is given.
  const endpoint = config.apiEndpoint ?? process.env.STORAGE_EMULATOR_HOST;
  const emulator = endpoint !== undefined && !GOOGLE_ENDPOINT.test(endpoint);
  return {
    bucket: storage.bucket(config.bucket),
    canSign: mayBeAbleToSign(credentials, config.keyFile, emulator),
  };
}

/**
 * Whether signing can work, decided without any network call. A private key signs locally;
 * impersonated and workload-identity credentials sign through IAM; user credentials never
 * can. ADC is only known at call time (a key file, or a GCP runtime's service account), so
 * it is given the benefit of the doubt against Google; an emulator has no ADC to sign with.
 */
function mayBeAbleToSign(
  credentials: GoogleCredentials | undefined,
  keyFile: string | undefined,
  emulator: boolean,
): boolean {
  if (credentials) {
    if (canSignLocally(credentials)) return true;
    return (
      !emulator &&
      (credentials.type === "impersonated_service_account" ||
        credentials.type === "external_account")
    );
  }
  return keyFile !== undefined || !emulator;
}

/**
 * Google Cloud Storage through `@google-cloud/storage`. Writes stream in one request below
 * `singleRequestMaxBytes` and through a resumable session above it, with memory bounded by
 * those two sizes whatever the object's size; reads stream the object or a byte range of
 * the generation that was looked up; listings page lazily.
 */
export class GcsAdapter extends BaseAdapter {
  readonly name = "gcs";
  /** The SDK bucket, for anything the adapter does not cover. */
  readonly bucket: Bucket;
  private readonly limits: UploadLimits;
  /**
   * Present only when these credentials can sign, so `supportsSignedUrls()` tells the
   * truth; a failure to sign at call time is still reported as `Unsupported`.
   */
  declare readonly signedUrl?: (key: string, options: SignedUrlOptions) => Promise<string>;

  constructor(config: GcsAdapterConfig | GcsAdapterFromClient) {
    // The base checks that every key still fits GCS's 1024 bytes once prefixed: GCS answers
    // an over-long name with a bare 400, which could only be reported as Internal.
    super({ prefix: config.prefix });
    let canSign: boolean;
    if (config.bucket instanceof Bucket) {
      this.bucket = config.bucket;
      canSign = true;
    } else if ("storage" in config && config.storage instanceof Storage) {
      if (typeof config.bucket !== "string" || config.bucket === "") {
        throw new StorageError("InvalidArgument", "A GCS bucket name is required.", {
          operation: "configure",
        });
      }
      this.bucket = config.storage.bucket(config.bucket);
      // The application's client: whether it can sign is only known when it tries.
      canSign = true;
    } else {
      if (typeof config.bucket !== "string" || config.bucket === "") {
        throw new StorageError("InvalidArgument", "A GCS bucket name is required.", {
          operation: "configure",
        });
      }
      ({ bucket: this.bucket, canSign } = clientFromConfig(config as GcsAdapterConfig));
    }
    this.limits = uploadLimits(config);
    if (config.signedUrls ?? canSign) {
      Object.defineProperty(this, "signedUrl", {
        value: (key: string, options: SignedUrlOptions) => this.sign(key, options),
        enumerable: false,
      });
    }
  }

  /** Creates the bucket if it does not exist (STORAGE_CREATE_BUCKET, emulators, tests). */
  async ensureBucket(): Promise<void> {
    await this.guard("createBucket", undefined, async () => {
      const [exists] = await this.bucket.exists();
      if (exists) return;
      try {
        await this.bucket.create();
      } catch (err) {
        // Someone else created it between the two calls: that is what we wanted.
        if ((err as { code?: unknown }).code !== 409) throw err;
      }
    });
  }

  protected override classifyError(err: unknown): StorageErrorCode | undefined {
    return classifyGcsError(err);
  }

  protected async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    const file = this.bucket.file(this.keyPrefix.apply(key), {
      crc32cGenerator: nativeCrc32cGenerator,
    });
    const meta = await uploadObject(
      file,
      body,
      {
        key,
        contentType: options.contentType,
        contentDisposition: options.contentDisposition,
        contentLength: options.contentLength,
        metadata: options.metadata,
        finalMetadata: options.finalMetadata && (() => resolveFinalMetadata(options, key)),
        signal: options.signal,
      },
      this.limits,
    );
    return toObjectInfo(key, meta);
  }

  protected async readObject(
    key: string,
    { range, signal }: { range: ByteRange | undefined; signal: AbortSignal | undefined },
  ): Promise<ReadResult> {
    const name = this.keyPrefix.apply(key);
    const [meta] = await untilAborted(this.bucket.file(name).getMetadata(), signal);
    const info = toObjectInfo(key, meta);
    const resolved = range ? resolveRange(range, info.size, key) : undefined;
    signal?.throwIfAborted();
    if (info.size === 0) return { info, body: Readable.from([]) };
    const body = await openMedia(this.bucket, {
      name,
      generation: meta.generation?.toString(),
      range: resolved,
      signal,
    });
    return { info, body: this.translatedStream(body, key), ...(resolved && { range: resolved }) };
  }

  /** The download, with every error it may still raise turned into a StorageError. */
  private translatedStream(source: Readable, key: string): Readable {
    const out = new PassThrough();
    source.on("error", (err) => out.destroy(this.translate(err, "read", key)));
    out.on("close", () => {
      if (!source.destroyed) source.destroy();
    });
    source.pipe(out);
    return out;
  }

  protected async statObject(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    const [meta] = await untilAborted(
      this.bucket.file(this.keyPrefix.apply(key)).getMetadata(),
      signal,
    );
    return toObjectInfo(key, meta);
  }

  protected async deleteObject(key: string, signal: AbortSignal | undefined): Promise<void> {
    await untilAborted(this.bucket.file(this.keyPrefix.apply(key)).delete(), signal);
  }

  protected async *listObjects(
    prefix: string,
    { pageSize, signal }: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry> {
    let pageToken: string | undefined;
    do {
      const [files, next] = await untilAborted(
        this.bucket.getFiles({
          prefix: this.keyPrefix.apply(prefix),
          maxResults: pageSize,
          autoPaginate: false,
          ...(pageToken !== undefined && { pageToken }),
        }),
        signal,
      );
      for (const file of files) {
        const key = this.keyPrefix.strip(file.name);
        // Names that are not valid keys (folder placeholders like "photos/") are dropped by
        // the base, for every adapter alike.
        if (key !== undefined) yield toListEntry(key, file.metadata);
      }
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken);
  }

  /**
   * Lists at most one object: it needs only `storage.objects.list`, which the minimal roles
   * grant, where a bucket lookup would need `storage.buckets.get`. A missing bucket is 404.
   */
  protected async checkBackend(signal: AbortSignal | undefined): Promise<void> {
    await untilAborted(
      this.bucket.getFiles({ prefix: this.keyPrefix.value, maxResults: 1, autoPaginate: false }),
      signal,
    );
  }

  private async sign(key: string, options: SignedUrlOptions): Promise<string> {
    this.validateSignedUrl(key, options);
    return this.guard("signedUrl", key, async () => {
      try {
        const [url] = await this.bucket.file(this.keyPrefix.apply(key)).getSignedUrl({
          // The SDK still defaults to V2 signatures; V4 is the current scheme.
          version: "v4",
          action: "read",
          expires: Date.now() + options.expiresIn * 1000,
          ...(options.contentDisposition !== undefined && {
            responseDisposition: options.contentDisposition,
          }),
          ...(options.contentType !== undefined && { responseType: options.contentType }),
        });
        return url;
      } catch (err) {
        if ((err as { name?: unknown }).name === "SigningError") {
          throw new StorageError(
            "Unsupported",
            `signedUrl "${key}": these credentials cannot sign URLs (${(err as Error).message}). ` +
              "Use a service-account key (GCS_CREDENTIALS or GCS_KEY_FILE), or grant the runtime service account " +
              "the Service Account Token Creator role on itself so it can sign through IAM.",
            { operation: "signedUrl", key, cause: err },
          );
        }
        throw err;
      }
    });
  }
}
