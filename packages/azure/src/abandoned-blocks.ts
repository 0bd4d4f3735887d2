import type { BlobItem, ContainerClient } from "@azure/storage-blob";
import { compareKeys, isValidKey, type KeyPrefix } from "@mediagate/core";
import { azureErrorCode } from "./errors.ts";

export interface AbandonedBlocksScope {
  container: ContainerClient;
  prefix: KeyPrefix;
  /** Names whose staged blocks date from before this moment count as abandoned. */
  before: Date;
  signal: AbortSignal | undefined;
}

/**
 * Removes the blobs under the prefix that exist only as uncommitted blocks (a write whose
 * process died before its Put Block List) and were last touched before `before`. Azure has
 * no call that deletes staged blocks, but committing a block list discards every staged
 * block not in it: an empty list is committed, only where no blob exists (`If-None-Match:
 * *`), and that empty blob deleted by its ETag. A name someone committed meanwhile is left
 * alone and not counted.
 *
 * Uncommitted blocks beside a committed blob (an overwrite that died) are not touched:
 * discarding them would mean committing that blob again, changing its ETag and
 * Last-Modified under every cache. Azure drops them a week after they were staged.
 *
 * The listing with uncommitted blobs is walked beside the plain one, both in name order:
 * a name only the first has is uncommitted, at the price of one more listing rather than
 * one request per blob. (Were the two ever to disagree, `If-None-Match: *` still keeps a
 * committed blob from being touched.)
 */
export async function discardAbandonedBlocks(scope: AbandonedBlocksScope): Promise<number> {
  const { container, signal } = scope;
  const prefix = scope.prefix.apply("") || undefined;
  const plain = container.listBlobsFlat({ prefix, abortSignal: signal });
  const committed: AsyncIterator<BlobItem> = plain[Symbol.asyncIterator]();
  let next = await committed.next();
  let removed = 0;
  try {
    for await (const item of container.listBlobsFlat({
      prefix,
      includeUncommitedBlobs: true,
      abortSignal: signal,
    })) {
      while (!next.done && compareKeys(next.value.name, item.name) < 0) {
        next = await committed.next();
      }
      if (!next.done && next.value.name === item.name) continue;
      if (!isAbandoned(item, scope)) continue;
      if (await discard(container, item.name, signal)) removed += 1;
    }
  } finally {
    await committed.return?.();
  }
  return removed;
}

function isAbandoned(item: BlobItem, scope: AbandonedBlocksScope): boolean {
  const key = scope.prefix.strip(item.name);
  if (key === undefined || !isValidKey(key)) return false;
  const touched = item.properties.lastModified ?? item.properties.createdOn;
  return touched !== undefined && touched < scope.before;
}

async function discard(
  container: ContainerClient,
  name: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const blob = container.getBlockBlobClient(name);
  let placeholder;
  try {
    placeholder = await blob.commitBlockList([], {
      conditions: { ifNoneMatch: "*" },
      abortSignal: signal,
    });
  } catch (err) {
    // Committed meanwhile: a live blob now, not an abandoned upload.
    if (azureErrorCode(err) === "BlobAlreadyExists") return false;
    throw err;
  }
  await blob.delete({ conditions: { ifMatch: placeholder.etag }, abortSignal: signal });
  return true;
}
