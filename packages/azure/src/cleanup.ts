import type { BlockBlobClient } from "@azure/storage-blob";
import { azureErrorCode } from "./errors.ts";

/** Cleanup runs after the write's own signal has fired, so it gets a deadline of its own. */
const CLEANUP_TIMEOUT_MS = 30_000;

/**
 * Removes what a failed block upload left on the service. Azure has no call that deletes
 * uncommitted blocks, but committing a block list discards every uncommitted block not in
 * it. So: commit an empty list — only if no blob exists there (`If-None-Match: *`), never
 * over someone's object — and delete that empty blob by its ETag.
 *
 * When a blob already exists, its uncommitted blocks stay until the next write to that key
 * or until Azure expires them (7 days after the last block was staged); the exception is a
 * blob that turns out to be ours: a commit that failed on the client after the service had
 * applied it. Its first committed block is then our first block ID, and it is deleted.
 *
 * Best effort: the write has already failed, and that failure is what the caller sees.
 */
export async function discardStagedBlocks(
  blob: BlockBlobClient,
  firstBlockId: string,
): Promise<void> {
  const abortSignal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  try {
    const placeholder = await blob.commitBlockList([], {
      conditions: { ifNoneMatch: "*" },
      abortSignal,
    });
    await blob.delete({ conditions: { ifMatch: placeholder.etag }, abortSignal });
  } catch (err) {
    const code = azureErrorCode(err);
    if (code !== "BlobAlreadyExists" && code !== "ConditionNotMet") return;
    try {
      const list = await blob.getBlockList("committed", { abortSignal });
      if (list.committedBlocks?.[0]?.name === firstBlockId) {
        await deleteVersion(blob, list.etag);
      }
    } catch {
      // Nothing more can be done from here.
    }
  }
}

/**
 * Deletes the blob only while it is still the version this write created (`If-Match`), so
 * a newer write to the same key by someone else survives. Best effort, like the above.
 */
export async function deleteVersion(
  blob: BlockBlobClient,
  etag: string | undefined,
): Promise<void> {
  if (!etag) return;
  await blob
    .delete({ conditions: { ifMatch: etag }, abortSignal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) })
    .catch(() => undefined);
}
