import type { ContainerClient } from "@azure/storage-blob";

/**
 * Describes every blob under `prefix` that holds uncommitted blocks: names that exist only
 * as staged blocks, and committed blobs with staged blocks beside them. Failed writes should
 * leave none (see the README); this is how tests and operators check. It costs one listing
 * plus one Get Block List per committed blob, so point it at a prefix, not a big container.
 */
export async function findUncommittedBlocks(
  container: ContainerClient,
  prefix?: string,
): Promise<string[]> {
  const found: string[] = [];
  // The SDK spells the List Blobs `include=uncommittedblobs` option this way.
  for await (const item of container.listBlobsFlat({ prefix, includeUncommitedBlobs: true })) {
    const blob = container.getBlockBlobClient(item.name);
    const exists = await blob.exists();
    const { uncommittedBlocks = [] } = await blob.getBlockList(exists ? "uncommitted" : "all");
    if (!exists)
      found.push(
        `${item.name}: no committed blob, ${uncommittedBlocks.length} uncommitted block(s)`,
      );
    else if (uncommittedBlocks.length > 0) {
      found.push(
        `${item.name}: ${uncommittedBlocks.length} uncommitted block(s) beside the committed blob`,
      );
    }
  }
  return found;
}
