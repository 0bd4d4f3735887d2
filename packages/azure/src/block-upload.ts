import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { BlobHTTPHeaders, BlockBlobClient } from "@azure/storage-blob";
import { PartQueue, PartReader, StorageError } from "@mediagate/core";
import { deleteVersion, discardStagedBlocks } from "./cleanup.ts";
import { afterGrace } from "./grace.ts";

/** Azure's limit on blocks per blob. */
export const MAX_BLOCKS = 50_000;

export interface BlockUploadOptions {
  /** Bytes per block, and the largest body sent as a single Put Blob. */
  blockSize: number;
  /** Blocks on the wire at once. Memory peaks near (concurrency + 1) × blockSize. */
  concurrency: number;
  headers: BlobHTTPHeaders;
  /**
   * The blob's metadata, already encoded for headers. Called once the body has ended, just
   * before the request that creates the blob (Put Blob or Put Block List), so metadata known
   * only at the end of the body is set atomically with the blob; throwing discards the write.
   */
  metadata: () => Record<string, string>;
  /** The exact body length when the caller knows it; a body of another length fails. */
  contentLength: number | undefined;
  /** Fires on the caller's abort and when the body fails. */
  signal: AbortSignal;
  /** How long requests already on the wire may still take once `signal` fires. */
  abortGraceMs?: number;
}

export interface UploadedBlob {
  size: number;
  etag: string;
  lastModified: Date;
}

export const DEFAULT_ABORT_GRACE_MS = 15_000;

/**
 * Streams a body into a block blob. A body that fits in one block goes up as one Put Blob;
 * a longer one is staged block by block, `concurrency` at a time, and committed at the end,
 * so the blob appears whole or not at all.
 *
 * This replaces the SDK's `uploadStream`, which keeps waiting on a stalled body after its
 * abort signal fires and leaves its staged blocks behind. Here an abort stops reading and
 * staging at once; requests already sent may finish (see `afterGrace`), and then whatever
 * they left — staged blocks, or a blob written just as the abort came — is removed.
 */
export async function uploadBlockBlob(
  blob: BlockBlobClient,
  body: Readable,
  options: BlockUploadOptions,
): Promise<UploadedBlob> {
  const grace = afterGrace(options.signal, options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS);
  try {
    return await upload(blob, body, options, grace.signal);
  } finally {
    grace.dispose();
  }
}

async function upload(
  blob: BlockBlobClient,
  body: Readable,
  options: BlockUploadOptions,
  requestSignal: AbortSignal,
): Promise<UploadedBlob> {
  const reader = new PartReader(body, options.blockSize);
  const first = blockOf(await reader.nextParts(options.signal));
  if (first.length < options.blockSize || !(await reader.hasMore(options.signal))) {
    checkLength(reader.bytesRead, options.contentLength, true);
    const response = await blob.upload(first.body, first.length, {
      blobHTTPHeaders: options.headers,
      metadata: options.metadata(),
      abortSignal: requestSignal,
    });
    return unlessAborted(blob, options.signal, uploaded(first.length, response));
  }

  const stager = new BlockStager(
    blob,
    options.blockSize,
    options.concurrency,
    options.signal,
    requestSignal,
  );
  let committed = false;
  try {
    let block: Block | undefined = first;
    while (block) {
      checkLength(reader.bytesRead, options.contentLength, false);
      await stager.stage(block);
      // Asked first, so the end of the body never costs a fresh block buffer.
      const next = (await reader.hasMore(stager.readSignal))
        ? await reader.next(stager.readSignal, stager.freeBuffer())
        : undefined;
      block = next && { body: next, length: next.length };
    }
    checkLength(reader.bytesRead, options.contentLength, true);
    const ids = await stager.finish();
    const metadata = options.metadata();
    const response = await blob.commitBlockList(ids, {
      blobHTTPHeaders: options.headers,
      metadata,
      abortSignal: requestSignal,
    });
    committed = true;
    return await unlessAborted(blob, options.signal, uploaded(reader.bytesRead, response));
  } catch (err) {
    await stager.settle();
    // Once committed, no block is left staged (the blob itself is undone above).
    if (stager.firstId && !committed) await discardStagedBlocks(blob, stager.firstId);
    throw err;
  }
}

/** The blob, unless the write was aborted while its last request ran: then it is undone. */
async function unlessAborted(
  blob: BlockBlobClient,
  signal: AbortSignal,
  result: UploadedBlob,
): Promise<UploadedBlob> {
  if (!signal.aborted) return result;
  await deleteVersion(blob, result.etag);
  throw signal.reason;
}

/**
 * Stages blocks through a `PartQueue` (bounded in flight, buffers recycled), naming each
 * with an ID unique to this write.
 */
class BlockStager {
  readonly #blob: BlockBlobClient;
  readonly #requestSignal: AbortSignal;
  readonly #queue: PartQueue<void>;
  /** IDs are `<upload uuid>-<index>`: equal length, as Azure requires, and unique to this write. */
  readonly #uploadId = randomUUID();
  readonly #ids: string[] = [];

  constructor(
    blob: BlockBlobClient,
    blockSize: number,
    concurrency: number,
    signal: AbortSignal,
    requestSignal: AbortSignal,
  ) {
    this.#blob = blob;
    this.#requestSignal = requestSignal;
    this.#queue = new PartQueue(blockSize, concurrency, signal);
  }

  /** Fires on the caller's abort and on the first failed block: stop reading the body. */
  get readSignal(): AbortSignal {
    return this.#queue.readSignal;
  }

  get firstId(): string | undefined {
    return this.#ids[0];
  }

  freeBuffer(): Buffer {
    return this.#queue.freeBuffer();
  }

  async stage(block: Block): Promise<void> {
    if (this.#ids.length >= MAX_BLOCKS) {
      throw new StorageError(
        "InvalidArgument",
        `The body needs more than ${MAX_BLOCKS} blocks of ${block.length} bytes; raise bufferSize.`,
        { operation: "write" },
      );
    }
    const id = Buffer.from(
      `${this.#uploadId}-${String(this.#ids.length).padStart(5, "0")}`,
    ).toString("base64");
    const { body } = block;
    await this.#queue.add(Buffer.isBuffer(body) ? body : undefined, async () => {
      await this.#blob.stageBlock(id, body, block.length, { abortSignal: this.#requestSignal });
    });
    this.#ids.push(id);
  }

  /** Waits for every block; resolves with the IDs to commit, in order. */
  async finish(): Promise<string[]> {
    await this.#queue.finish();
    return [...this.#ids];
  }

  /** Waits until no block is on the wire, so cleanup cannot race a late one. */
  async settle(): Promise<void> {
    await this.#queue.settle();
  }
}

/**
 * A block's bytes as a request body: one buffer, or its chunks sent in turn (the SDK calls
 * the factory again for each retry).
 */
interface Block {
  body: Buffer | (() => NodeJS.ReadableStream);
  length: number;
}

function blockOf(parts: Buffer[]): Block {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  if (parts.length <= 1) return { body: parts[0] ?? Buffer.alloc(0), length };
  return { body: () => Readable.from(parts), length };
}

function checkLength(bytes: number, expected: number | undefined, complete: boolean): void {
  if (expected === undefined) return;
  if (bytes > expected || (complete && bytes !== expected)) {
    throw new StorageError(
      "InvalidArgument",
      `The body ${complete ? "had" : "has at least"} ${bytes} bytes, but contentLength said ${expected}.`,
      { operation: "write" },
    );
  }
}

function uploaded(size: number, response: { etag?: string; lastModified?: Date }): UploadedBlob {
  if (!response.etag || !response.lastModified) {
    throw new StorageError(
      "Internal",
      "Azure did not return the new blob's ETag and Last-Modified.",
      {
        operation: "write",
      },
    );
  }
  return { size, etag: response.etag, lastModified: response.lastModified };
}
