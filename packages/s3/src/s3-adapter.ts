import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type BucketLocationConstraint,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  BaseAdapter,
  StorageError,
  encodeMetadata,
  rangeHeader,
  resolveFinalMetadata,
  resolveRange,
  type ByteRange,
  type ListEntry,
  type NormalizedWriteOptions,
  type ObjectInfo,
  type ReadResult,
  type SignedUrlCapable,
  type SignedUrlOptions,
  type StorageErrorCode,
} from "@mediagate/core";
import { Readable } from "node:stream";
import { createS3Client, type S3ConnectionOptions } from "./config.ts";
import { classifyS3Error } from "./errors.ts";
import { bareEtag, parseContentRange, toObjectInfo } from "./object-info.ts";
import { streamingUpload } from "./streaming-upload.ts";

/** S3 refuses smaller parts (except the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's ceiling for one part. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/**
 * S3's smallest part, 4 in flight: about 25 MiB of part buffers per upload. A gateway streams
 * from many phones at once, each slower than one part request to S3, so memory per upload
 * counts for more than the few requests larger parts would save.
 */
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 4;

export interface S3AdapterOptions extends S3ConnectionOptions {
  bucket: string;
  /** Namespace inside the bucket ("tenant-a/media"); callers only ever see their own keys. */
  prefix?: string;
  /**
   * Bytes per multipart part (default and least 5 MiB). Bodies up to one part go up as
   * a single PutObject. Grows automatically when a declared contentLength needs more than
   * 10,000 parts.
   */
  partSize?: number;
  /** Parts uploaded at once (default 4). Memory per write ≈ partSize × (queueSize + 1). */
  queueSize?: number;
  /**
   * An existing client to use instead of building one; the connection options must then be
   * left out (they would be silently ignored otherwise). Its checksum settings are its own.
   */
  client?: S3Client;
  /**
   * Called when a failed write could not clean up after itself (the store was unreachable by
   * then): its multipart upload (`uploadId`) holds storage until a lifecycle rule removes
   * it, or, without `uploadId`, a PutObject that went unanswered may have left an object
   * that could not be deleted. Defaults to a process warning.
   */
  onCleanupFailure?: (
    error: unknown,
    upload: { bucket: string; key: string; uploadId?: string },
  ) => void;
}

const CONNECTION_OPTION_NAMES = [
  "region",
  "endpoint",
  "forcePathStyle",
  "credentials",
  "checksum",
  "maxAttempts",
  "connectionTimeoutMs",
] as const satisfies readonly (keyof S3ConnectionOptions)[];

function configError(message: string): StorageError {
  return new StorageError("InvalidArgument", message, { operation: "configure" });
}

function defaultCleanupWarning(
  error: unknown,
  upload: { bucket: string; key: string; uploadId?: string },
): void {
  const reason = error instanceof Error ? error.message : String(error);
  const where = `s3://${upload.bucket}/${upload.key}`;
  process.emitWarning(
    upload.uploadId === undefined
      ? `Could not delete ${where} after a failed write whose PutObject went unanswered (${reason}); the store may hold it.`
      : `Could not abort multipart upload ${upload.uploadId} of ${where} after a failed write (${reason}); ` +
          "its parts stay billed until a lifecycle rule (AbortIncompleteMultipartUpload) removes them.",
    { code: "MEDIAGATE_S3_CLEANUP" },
  );
}

/**
 * Amazon S3 and S3-compatible stores (MinIO, Cloudflare R2, Wasabi, DigitalOcean Spaces,
 * Ceph). Writes stream in parts from recycled buffers; everything else is one SDK call.
 */
export class S3Adapter extends BaseAdapter implements SignedUrlCapable {
  readonly name = "s3";
  readonly bucket: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly onCleanupFailure: NonNullable<S3AdapterOptions["onCleanupFailure"]>;

  constructor(options: S3AdapterOptions) {
    // The base checks that every key still fits S3's 1024 bytes once the prefix is added.
    super({ prefix: options.prefix });
    if (typeof options.bucket !== "string" || options.bucket === "") {
      throw configError("bucket is required.");
    }
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw configError(
        `partSize must be a whole number of bytes from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE} (5 GiB).`,
      );
    }
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (!Number.isSafeInteger(queueSize) || queueSize < 1 || queueSize > 64) {
      throw configError("queueSize must be a whole number from 1 to 64.");
    }
    if (options.client) {
      const conflicting = CONNECTION_OPTION_NAMES.filter((name) => options[name] !== undefined);
      if (conflicting.length > 0) {
        throw configError(
          `Pass either client or connection options, not both (got ${conflicting.join(", ")}).`,
        );
      }
    }
    this.bucket = options.bucket;
    this.partSize = partSize;
    this.queueSize = queueSize;
    this.client = options.client ?? createS3Client(options);
    this.onCleanupFailure = options.onCleanupFailure ?? defaultCleanupWarning;
  }

  /** Creates the bucket (STORAGE_CREATE_BUCKET); succeeds when it already exists and is ours. */
  async createBucket(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.guard("createBucket", undefined, async () => {
      // Outside us-east-1, AWS wants the region restated in the request. Other stores have
      // their own ideas of regions ("auto" on R2): they get the plain request.
      const region = await this.client.config.region();
      const onAws = this.client.config.endpoint === undefined;
      const configuration =
        onAws && region && region !== "us-east-1"
          ? { LocationConstraint: region as BucketLocationConstraint }
          : undefined;
      try {
        await this.client.send(
          new CreateBucketCommand({
            Bucket: this.bucket,
            CreateBucketConfiguration: configuration,
          }),
          { abortSignal: options.signal },
        );
      } catch (err) {
        const name = err instanceof Error ? err.name : undefined;
        if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw err;
        // "Already exists" may be someone else's bucket: only a passing check proves it is usable.
        await this.checkBackend(options.signal);
      }
    });
  }

  async signedUrl(key: string, options: SignedUrlOptions): Promise<string> {
    this.validateSignedUrl(key, options);
    const objectKey = this.keyPrefix.apply(key);
    return this.guard("signedUrl", key, () =>
      getSignedUrl(
        this.client,
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ResponseContentType: options.contentType,
          ResponseContentDisposition: options.contentDisposition,
        }),
        { expiresIn: options.expiresIn },
      ),
    );
  }

  protected override classifyError(err: unknown): StorageErrorCode | undefined {
    return classifyS3Error(err);
  }

  protected async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    const objectKey = this.keyPrefix.apply(key);
    const { etag, size } = await streamingUpload({
      client: this.client,
      bucket: this.bucket,
      key: objectKey,
      callerKey: key,
      body,
      contentType: options.contentType,
      contentDisposition: options.contentDisposition,
      contentLength: options.contentLength,
      metadata: encodeMetadata(options.metadata),
      finalMetadata:
        options.finalMetadata && (() => encodeMetadata(resolveFinalMetadata(options, key))),
      partSize: this.partSize,
      queueSize: this.queueSize,
      signal: options.signal,
      onCleanupFailure: (error, upload) =>
        this.onCleanupFailure(error, { ...upload, bucket: this.bucket }),
    });
    try {
      // PutObject and CompleteMultipartUpload do not return Last-Modified: ask once.
      return await this.statObject(key, undefined);
    } catch {
      // The object is durable; failing the write now would only invite a duplicate upload.
      return {
        key,
        size,
        contentType: options.contentType,
        ...(options.contentDisposition ? { contentDisposition: options.contentDisposition } : {}),
        etag: bareEtag(etag),
        lastModified: new Date(),
        metadata: resolveFinalMetadata(options, key),
      };
    }
  }

  protected async readObject(
    key: string,
    options: { range: ByteRange | undefined; signal: AbortSignal | undefined },
  ): Promise<ReadResult> {
    const { range, signal } = options;
    const out = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.keyPrefix.apply(key),
        Range: range ? rangeHeader(range) : undefined,
      }),
      { abortSignal: signal },
    );
    const body = out.Body;
    if (!(body instanceof Readable)) {
      throw new StorageError("Internal", `GetObject for "${key}" returned no Node.js stream.`, {
        key,
      });
    }
    try {
      if (!range) {
        return { info: toObjectInfo(key, out, out.ContentLength ?? 0), body };
      }
      const partial = parseContentRange(out.ContentRange);
      if (partial) {
        return { info: toObjectInfo(key, out, partial.size), body, range: partial.range };
      }
      // 200 to a ranged GET: the store ignored the Range header (it may, for a range covering
      // the whole object). Accept only what that answer really is.
      const size = out.ContentLength ?? 0;
      const resolved = resolveRange(range, size, key);
      if (resolved.start !== 0 || resolved.end !== size - 1) {
        throw new StorageError("Internal", `The store ignored the Range header for "${key}".`, {
          key,
        });
      }
      return { info: toObjectInfo(key, out, size), body, range: resolved };
    } catch (err) {
      body.destroy();
      throw err;
    }
  }

  protected async statObject(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    const out = await this.client.send(
      new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix.apply(key) }),
      { abortSignal: signal },
    );
    return toObjectInfo(key, out, out.ContentLength ?? 0);
  }

  protected async deleteObject(key: string, signal: AbortSignal | undefined): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix.apply(key) }),
      { abortSignal: signal },
    );
  }

  protected async *listObjects(
    prefix: string,
    options: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.keyPrefix.apply(prefix),
          MaxKeys: options.pageSize,
          ContinuationToken: token,
        }),
        { abortSignal: options.signal },
      );
      for (const item of page.Contents ?? []) {
        const key = item.Key === undefined ? undefined : this.keyPrefix.strip(item.Key);
        if (key === undefined) continue;
        yield {
          key,
          size: item.Size ?? 0,
          lastModified: item.LastModified ?? new Date(0),
          ...(item.ETag ? { etag: bareEtag(item.ETag) } : {}),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * DeleteObject answers 204 for a missing key, so a NotFound from it is about the bucket
   * (NoSuchBucket); only a store that answers otherwise needs core's listing probe.
   */
  protected override async bucketIsMissing(
    notFound: StorageError,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const name = notFound.cause instanceof Error ? notFound.cause.name : undefined;
    if (name === "NoSuchBucket") return true;
    if (name === "NoSuchKey") return false;
    return super.bucketIsMissing(notFound, signal);
  }

  protected async checkBackend(signal: AbortSignal | undefined): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal });
  }
}
