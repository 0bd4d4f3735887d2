import type { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import {
  BaseAdapter,
  StorageError,
  encodeMetadata,
  resolveFinalMetadata,
  type ByteRange,
  type ListEntry,
  type NormalizedWriteOptions,
  type ObjectInfo,
  type AbandonedUploadsCapable,
  type ReadResult,
  type RemoveAbandonedUploadsOptions,
  type RemoveAbandonedUploadsResult,
  type SignedUrlOptions,
  type StorageErrorCode,
} from "@mediagate/core";
import { discardAbandonedBlocks } from "./abandoned-blocks.ts";
import { DEFAULT_ABORT_GRACE_MS, uploadBlockBlob } from "./block-upload.ts";
import {
  resolveConnection,
  type AzureBlobConnection,
  type AzureCredentialKind,
} from "./connection.ts";
import { download } from "./download.ts";
import { azureErrorCode, classifyAzureError } from "./errors.ts";
import { bareEtag, objectInfo } from "./object-info.ts";
import type { UrlSigner } from "./signing.ts";

/**
 * 4 MiB blocks, 4 in flight: about 20 MiB of block buffers per upload. A gateway streams
 * from many phones at once, each slower than one block request to Azure, so memory per
 * upload counts for more than the bulk throughput bigger blocks would give (Azure's
 * high-throughput ingestion starts above 4 MiB; raise `bufferSize` for bulk loads).
 */
export const DEFAULT_BUFFER_SIZE = 4 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;
/** Azure's largest block (Put Block, API version 2019-12-12 and later). */
const MAX_BUFFER_SIZE = 4000 * 1024 * 1024;

export interface AzureBlobTuning {
  /** Namespace inside the container ("tenant-a/media"); callers never see it in keys. */
  prefix?: string;
  /**
   * Bytes per block (default 4 MiB). Bodies up to this size go up in one request; larger
   * ones in blocks. With `concurrency` it bounds a write's memory: about
   * (concurrency + 1) × bufferSize. At most 50,000 blocks make a blob, so this also caps
   * the largest object (4 MiB → about 195 GiB).
   */
  bufferSize?: number;
  /** Blocks uploaded in parallel per write (default 4). */
  concurrency?: number;
  /**
   * After an abort or failure, milliseconds a request already on the wire (a block, the
   * Put Blob or Put Block List that makes the blob) may still answer, so that what it left
   * is removed after it (default 15 s).
   */
  abortGraceMs?: number;
}

export type AzureBlobAdapterOptions = AzureBlobConnection & AzureBlobTuning;

/**
 * Azure Blob Storage, one container (optionally one prefix inside it), block blobs only.
 * Authenticates with a connection string, an account key, a SAS token, Entra ID (any
 * TokenCredential; DefaultAzureCredential by default), or a ContainerClient you built.
 */
export class AzureBlobAdapter extends BaseAdapter implements AbandonedUploadsCapable {
  readonly name = "azure";
  readonly containerClient: ContainerClient;
  /** How this adapter authenticates. */
  readonly credentialKind: AzureCredentialKind;
  /**
   * Read-only URLs: a service SAS with an account key, a user-delegation SAS with Entra ID.
   * Undefined with a SAS token or an anonymous client; `supportsSignedUrls()` tells.
   */
  readonly signedUrl: ((key: string, options: SignedUrlOptions) => Promise<string>) | undefined;
  readonly #bufferSize: number;
  readonly #concurrency: number;
  readonly #abortGraceMs: number;

  constructor(options: AzureBlobAdapterOptions) {
    // The base checks that every key still fits Azure's 1024 characters once prefixed.
    super({ prefix: options.prefix });
    this.#bufferSize = checkedInteger(
      "bufferSize",
      options.bufferSize ?? DEFAULT_BUFFER_SIZE,
      1,
      MAX_BUFFER_SIZE,
    );
    this.#concurrency = checkedInteger(
      "concurrency",
      options.concurrency ?? DEFAULT_CONCURRENCY,
      1,
      64,
    );
    this.#abortGraceMs = checkedInteger(
      "abortGraceMs",
      options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS,
      0,
      600_000,
    );
    const connection = resolveConnection(options);
    this.containerClient = connection.containerClient;
    this.credentialKind = connection.kind;
    const signer = connection.signer;
    this.signedUrl = signer
      ? (key, signOptions) => this.#sign(signer, key, signOptions)
      : undefined;
  }

  /** Creates the container when it does not exist yet (STORAGE_CREATE_BUCKET). */
  async createContainerIfMissing(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.guard("createContainer", undefined, async () => {
      await this.containerClient.createIfNotExists({ abortSignal: options.signal });
    });
  }

  /**
   * Removes the blobs under this adapter's prefix that exist only as uncommitted blocks
   * staged more than `olderThanMs` ago: what writes of processes killed mid-upload left.
   * (Azure would drop them a week after they were staged.)
   */
  async removeAbandonedUploads(
    options: RemoveAbandonedUploadsOptions,
  ): Promise<RemoveAbandonedUploadsResult> {
    const before = this.abandonedBefore(options);
    return this.guard("removeAbandonedUploads", undefined, async () => ({
      removed: await discardAbandonedBlocks({
        container: this.containerClient,
        prefix: this.keyPrefix,
        before,
        signal: options.signal,
      }),
    }));
  }

  protected override classifyError(err: unknown): StorageErrorCode | undefined {
    return classifyAzureError(err);
  }

  protected async writeObject(
    key: string,
    body: Readable,
    options: NormalizedWriteOptions,
  ): Promise<ObjectInfo> {
    const uploaded = await uploadBlockBlob(this.#blob(key).getBlockBlobClient(), body, {
      blockSize: this.#bufferSize,
      concurrency: this.#concurrency,
      headers: {
        blobContentType: options.contentType,
        blobContentDisposition: options.contentDisposition,
      },
      metadata: () => encodeMetadata(resolveFinalMetadata(options, key)),
      contentLength: options.contentLength,
      signal: options.signal,
      abortGraceMs: this.#abortGraceMs,
    });
    return objectInfo(
      key,
      {
        contentLength: uploaded.size,
        contentType: options.contentType,
        contentDisposition: options.contentDisposition,
        etag: uploaded.etag,
        lastModified: uploaded.lastModified,
      },
      uploaded.size,
      resolveFinalMetadata(options, key),
    );
  }

  protected readObject(
    key: string,
    options: { range: ByteRange | undefined; signal: AbortSignal | undefined },
  ): Promise<ReadResult> {
    return download(this.#blob(key), key, options.range, options.signal);
  }

  protected async statObject(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    return objectInfo(key, await this.#blob(key).getProperties({ abortSignal: signal }));
  }

  protected async deleteObject(key: string, signal: AbortSignal | undefined): Promise<void> {
    // Snapshots would make the delete fail (SnapshotsPresent); the object goes with them.
    await this.#blob(key).delete({ deleteSnapshots: "include", abortSignal: signal });
  }

  protected async *listObjects(
    prefix: string,
    options: { pageSize: number; signal: AbortSignal | undefined },
  ): AsyncIterable<ListEntry> {
    const pages = this.containerClient
      .listBlobsFlat({ prefix: this.keyPrefix.apply(prefix), abortSignal: options.signal })
      .byPage({ maxPageSize: options.pageSize });
    for await (const page of pages) {
      for (const item of page.segment.blobItems) {
        const key = this.keyPrefix.strip(item.name);
        // Names that are not valid keys are dropped by the base, for every adapter alike.
        if (key === undefined) continue;
        yield {
          key,
          size: item.properties.contentLength ?? 0,
          lastModified: item.properties.lastModified,
          etag: bareEtag(item.properties.etag),
        };
      }
    }
  }

  /**
   * Azure names what is missing (ContainerNotFound or BlobNotFound), so a delete needs
   * core's listing probe only when the error code is absent.
   */
  protected override async bucketIsMissing(
    notFound: StorageError,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const code = azureErrorCode(notFound.cause);
    if (code === "ContainerNotFound") return true;
    if (code === "BlobNotFound") return false;
    return super.bucketIsMissing(notFound, signal);
  }

  /** One listing page of one entry: proves the container exists and these credentials can read it. */
  protected async checkBackend(signal: AbortSignal | undefined): Promise<void> {
    await this.containerClient
      .listBlobsFlat({ prefix: this.keyPrefix.value || undefined, abortSignal: signal })
      .byPage({ maxPageSize: 1 })
      .next();
  }

  async #sign(signer: UrlSigner, key: string, options: SignedUrlOptions): Promise<string> {
    this.validateSignedUrl(key, options);
    return this.guard("signedUrl", key, () => signer.sign(this.#blob(key), options));
  }

  #blob(key: string) {
    return this.containerClient.getBlobClient(this.keyPrefix.apply(key));
  }
}

function checkedInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new StorageError(
      "InvalidArgument",
      `${name} must be a whole number from ${min} to ${max}.`,
      {
        operation: "configure",
      },
    );
  }
  return value;
}
