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
  rangeHeader,
  resolveFinalMetadata,
  resolveRange,
  type ByteRange,
  type ListEntry,
  type NormalizedWriteOptions,
  type ObjectInfo,
  type ReadResult,
  type RemoveAbandonedUploadsOptions,
  type RemoveAbandonedUploadsResult,
  type AbandonedUploadsCapable,
  type SignedUrlCapable,
  type SignedUrlOptions,
  type StorageErrorCode,
} from "@mediagate/core";
import { Readable } from "node:stream";
import { abortAbandonedUploads } from "./abandoned-uploads.ts";
import {
  checkedSettings,
  defaultCleanupWarning,
  type S3AdapterOptions,
} from "./adapter-options.ts";
import { createS3Client } from "./config.ts";
import type { FinalMetadataStorage } from "./describe-completed.ts";
import { classifyS3Error } from "./errors.ts";
import { withFinalTags } from "./final-tags.ts";
import { bareEtag, parseContentRange, toObjectInfo } from "./object-info.ts";
import { streamingUpload } from "./streaming-upload.ts";

export {
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  type S3AdapterOptions,
} from "./adapter-options.ts";

/**
 * Amazon S3 and S3-compatible stores (MinIO, Cloudflare R2, Wasabi, DigitalOcean Spaces,
 * Ceph). Writes stream in parts from recycled buffers; everything else is one SDK call.
 */
export class S3Adapter extends BaseAdapter implements SignedUrlCapable, AbandonedUploadsCapable {
  readonly name = "s3";
  readonly bucket: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly abortGraceMs: number;
  /** Becomes `copy` once the store has answered tagging with NotImplemented. */
  private finalMetadataStorage: FinalMetadataStorage;
  private readonly onCleanupFailure: NonNullable<S3AdapterOptions["onCleanupFailure"]>;

  constructor(options: S3AdapterOptions) {
    // The base checks that every key still fits S3's 1024 bytes once the prefix is added.
    super({ prefix: options.prefix });
    const settings = checkedSettings(options);
    this.bucket = options.bucket;
    this.partSize = settings.partSize;
    this.queueSize = settings.queueSize;
    this.abortGraceMs = settings.abortGraceMs;
    this.finalMetadataStorage = settings.finalMetadataStorage;
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

  /**
   * Aborts the multipart uploads under this adapter's prefix that were begun more than
   * `olderThanMs` ago: what writes of processes killed mid-upload left (billed, invisible).
   * Needs `s3:ListBucketMultipartUploads` and `s3:AbortMultipartUpload`.
   */
  async removeAbandonedUploads(
    options: RemoveAbandonedUploadsOptions,
  ): Promise<RemoveAbandonedUploadsResult> {
    const before = this.abandonedBefore(options);
    return this.guard("removeAbandonedUploads", undefined, async () => ({
      removed: await abortAbandonedUploads({
        client: this.client,
        bucket: this.bucket,
        prefix: this.keyPrefix,
        before,
        signal: options.signal,
      }),
    }));
  }

  protected async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    const objectKey = this.keyPrefix.apply(key);
    const { etag, size, finalInTags } = await streamingUpload({
      client: this.client,
      bucket: this.bucket,
      key: objectKey,
      callerKey: key,
      body,
      contentType: options.contentType,
      contentDisposition: options.contentDisposition,
      contentLength: options.contentLength,
      metadata: options.metadata,
      finalMetadata: options.finalMetadata && (() => resolveFinalMetadata(options, key)),
      finalMetadataStorage: this.finalMetadataStorage,
      onTaggingUnsupported: () => this.taggingUnsupported(),
      partSize: this.partSize,
      queueSize: this.queueSize,
      signal: options.signal,
      abortGraceMs: this.abortGraceMs,
      onCleanupFailure: (error, upload) =>
        this.onCleanupFailure(error, { ...upload, bucket: this.bucket }),
    });
    let head;
    try {
      // PutObject and CompleteMultipartUpload do not return Last-Modified: ask once.
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
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
    if (finalInTags && etag !== undefined && bareEtag(head.ETag) !== bareEtag(etag)) {
      // Tagging has no precondition: the tags may have gone onto that other object.
      throw new StorageError(
        "Internal",
        `write "${key}": another write replaced the object right after it was completed; that write's object is left as it is.`,
        { operation: "write", key },
      );
    }
    const info = toObjectInfo(key, head, head.ContentLength ?? 0);
    // What was just stored; the tags need not be read back.
    return finalInTags ? { ...info, metadata: resolveFinalMetadata(options, key) } : info;
  }

  /** The store keeps no object tags: final metadata is copied from now on (once, warned). */
  private taggingUnsupported(): void {
    if (this.finalMetadataStorage === "copy") return;
    this.finalMetadataStorage = "copy";
    process.emitWarning(
      `s3://${this.bucket} does not support object tagging (NotImplemented): metadata known only at the end of multipart uploads is set by copying each object, which takes longer for larger files and stops at 5 GiB. Set finalMetadataStorage: "copy" (S3_FINAL_METADATA=copy) to skip this probe.`,
      { code: "MEDIAGATE_S3_NO_TAGGING" },
    );
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
      out.Metadata = await withFinalTags(
        this.client,
        { bucket: this.bucket, key: this.keyPrefix.apply(key), versionId: out.VersionId },
        out.Metadata,
        signal,
      );
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
    const objectKey = this.keyPrefix.apply(key);
    const out = await this.client.send(
      new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      { abortSignal: signal },
    );
    out.Metadata = await withFinalTags(
      this.client,
      { bucket: this.bucket, key: objectKey, versionId: out.VersionId },
      out.Metadata,
      signal,
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
