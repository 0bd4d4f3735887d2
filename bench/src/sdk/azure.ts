import { BlobServiceClient } from "@azure/storage-blob";
import type { Readable } from "node:stream";
import type { BackendEndpoint } from "../backend.ts";
import { SDK_TUNING } from "./tuning.ts";
import { countBytes, forEachLimit, type BackendSdk, type ByteSpan } from "./types.ts";

type AzureEndpoint = Extract<BackendEndpoint, { provider: "azure" }>;

export function azureSdk(endpoint: AzureEndpoint): BackendSdk {
  const container = BlobServiceClient.fromConnectionString(
    endpoint.connectionString,
  ).getContainerClient(endpoint.container);
  const headers = (type: string) => ({ blobHTTPHeaders: { blobContentType: type } });
  return {
    async download(key: string, range?: ByteSpan): Promise<number> {
      const blob = container.getBlobClient(key);
      const response = range
        ? await blob.download(range.start, range.end - range.start + 1)
        : await blob.download();
      if (!response.readableStreamBody) throw new Error(`no body for ${key}`);
      return countBytes(response.readableStreamBody as AsyncIterable<Buffer>);
    },
    async upload(key: string, body: Readable, size: number): Promise<void> {
      const blob = container.getBlockBlobClient(key);
      const { bufferSize, maxConcurrency } = SDK_TUNING.azure;
      if (size <= bufferSize) {
        // One Put Blob, the body streamed with its known length.
        await blob.upload(() => body, size, headers("application/octet-stream"));
      } else {
        await blob.uploadStream(
          body,
          bufferSize,
          maxConcurrency,
          headers("application/octet-stream"),
        );
      }
    },
    async put(key: string, data: Buffer, contentType: string): Promise<void> {
      await container.getBlockBlobClient(key).uploadData(data, headers(contentType));
    },
    async ensureBucket(): Promise<void> {
      await container.createIfNotExists();
    },
    async purge() {
      let objects = 0;
      let bytes = 0;
      await forEachLimit(container.listBlobsFlat(), 16, async (blob) => {
        objects++;
        bytes += blob.properties.contentLength ?? 0;
        // A server may be removing the blob of an upload its client cut short.
        await container.getBlobClient(blob.name).deleteIfExists();
      });
      return { objects, bytes };
    },
  };
}
