import { streamOf } from "@mediagate/core/conformance";
import { startAzurite, type AzuriteServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AzureBlobAdapter } from "../src/index.ts";
import { findUncommittedBlocks } from "../src/index.ts";
import { sharedKeyAdapter } from "./azurite.ts";

/**
 * removeAbandonedUploads on Azurite: names that exist only as staged blocks are removed,
 * blobs (and blocks staged beside them) are not. Azurite's clock cannot be moved back, so
 * ages here are "now" against bounds of 0 and an hour.
 */

const CONTAINER = "abandoned";
const HOUR = 3600_000;
let azurite: AzuriteServer;
let adapter: AzureBlobAdapter;
let counter = 0;
const freshPrefix = () => `sweep-${++counter}`;

beforeAll(async () => {
  azurite = await startAzurite();
  adapter = await sharedKeyAdapter(azurite, CONTAINER);
});
afterAll(async () => {
  await azurite?.stop();
});

const stage = (name: string, id = "block-0") =>
  adapter.containerClient
    .getBlockBlobClient(name)
    .stageBlock(Buffer.from(id).toString("base64"), Buffer.from("staged"), 6);

describe("Azure removeAbandonedUploads", () => {
  it("removes names with only staged blocks, and leaves blobs and their staged blocks", async () => {
    const prefix = freshPrefix();
    await stage(`${prefix}/a-abandoned.bin`);
    await stage(`${prefix}/c-abandoned.bin`);
    await adapter.write(`${prefix}/b-stored.txt`, streamOf("stored"));
    await adapter.write(`${prefix}/d-overwriting.txt`, streamOf("kept"));
    await stage(`${prefix}/d-overwriting.txt`, "late-block");
    const scoped = await sharedKeyAdapter(azurite, CONTAINER, { prefix });

    expect(await scoped.removeAbandonedUploads({ olderThanMs: HOUR })).toEqual({ removed: 0 });
    expect(await scoped.removeAbandonedUploads({ olderThanMs: 0 })).toEqual({ removed: 2 });
    expect(await findUncommittedBlocks(adapter.containerClient, `${prefix}/`)).toEqual([
      `${prefix}/d-overwriting.txt: 1 uncommitted block(s) beside the committed blob`,
    ]);
    const keys: string[] = [];
    for await (const entry of adapter.list(`${prefix}/`)) keys.push(entry.key);
    expect(keys).toEqual([`${prefix}/b-stored.txt`, `${prefix}/d-overwriting.txt`]);
    expect((await adapter.stat(`${prefix}/d-overwriting.txt`)).size).toBe(4);
  });

  it("leaves staged blocks under names that are not keys (another tool's)", async () => {
    const prefix = freshPrefix();
    await stage(`${prefix}/.tool/upload`);
    expect(await adapter.removeAbandonedUploads({ olderThanMs: 0 })).toEqual({ removed: 0 });
    expect(await findUncommittedBlocks(adapter.containerClient, `${prefix}/`)).toHaveLength(1);
    await adapter.containerClient.getBlockBlobClient(`${prefix}/.tool/upload`).commitBlockList([]);
    await adapter.containerClient.getBlobClient(`${prefix}/.tool/upload`).delete();
  });
});
