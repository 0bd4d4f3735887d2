import { Storage } from "@google-cloud/storage";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BackendEndpoint } from "../backend.ts";
import { SDK_TUNING } from "./tuning.ts";
import { countBytes, forEachLimit, type BackendSdk, type ByteSpan } from "./types.ts";

type GcsEndpoint = Extract<BackendEndpoint, { provider: "gcs" }>;

export function gcsSdk(endpoint: GcsEndpoint): BackendSdk {
  const storage = new Storage({ apiEndpoint: endpoint.apiEndpoint, projectId: endpoint.projectId });
  const bucket = storage.bucket(endpoint.bucket);
  return {
    download(key: string, range?: ByteSpan): Promise<number> {
      // The SDK's defaults: whole objects are checksummed, ranges cannot be.
      return countBytes(bucket.file(key).createReadStream(range ?? {}));
    },
    async upload(key: string, body: Readable, size: number): Promise<void> {
      const resumable = size > SDK_TUNING.gcs.singleRequestMaxBytes;
      await pipeline(
        body,
        bucket.file(key).createWriteStream({
          resumable,
          contentType: "application/octet-stream",
          ...(resumable ? { chunkSize: SDK_TUNING.gcs.chunkSize } : {}),
        }),
      );
    },
    async put(key: string, data: Buffer, contentType: string): Promise<void> {
      await bucket.file(key).save(data, { resumable: false, contentType });
    },
    async ensureBucket(): Promise<void> {
      const [exists] = await bucket.exists();
      if (!exists) await storage.createBucket(endpoint.bucket);
    },
    async purge() {
      let objects = 0;
      let bytes = 0;
      let pageToken: string | undefined;
      do {
        const [files, next] = await bucket.getFiles({
          autoPaginate: false,
          maxResults: 1000,
          pageToken,
        });
        await forEachLimit(files, 16, async (file) => {
          objects++;
          bytes += Number(file.metadata.size ?? 0);
          await file.delete({ ignoreNotFound: true });
        });
        pageToken = (next as { pageToken?: string } | null)?.pageToken;
      } while (pageToken);
      return { objects, bytes };
    },
  };
}
