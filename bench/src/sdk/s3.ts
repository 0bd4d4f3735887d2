import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Readable } from "node:stream";
import type { BackendEndpoint } from "../backend.ts";
import { countBytes, type BackendSdk, type ByteSpan } from "./types.ts";
import { SDK_TUNING } from "./tuning.ts";

type S3Endpoint = Extract<BackendEndpoint, { provider: "s3" }>;

/** A client for s3rver (or MinIO, R2): path style, checksums only where required. */
export function s3Client(endpoint: S3Endpoint): S3Client {
  return new S3Client({
    endpoint: endpoint.endpoint,
    region: endpoint.region,
    forcePathStyle: true,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
    // Checksum trailers are refused by s3rver (and MinIO/R2); see TEST-SERVERS.md.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export function s3Sdk(endpoint: S3Endpoint): BackendSdk {
  const client = s3Client(endpoint);
  const Bucket = endpoint.bucket;
  return {
    async download(key: string, range?: ByteSpan): Promise<number> {
      const { Body } = await client.send(
        new GetObjectCommand({
          Bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      return countBytes(Body as AsyncIterable<Buffer>);
    },
    async upload(key: string, body: Readable): Promise<void> {
      await new Upload({
        client,
        params: { Bucket, Key: key, Body: body, ContentType: "application/octet-stream" },
        partSize: SDK_TUNING.s3.partSize,
        queueSize: SDK_TUNING.s3.queueSize,
      }).done();
    },
    async put(key: string, data: Buffer, contentType: string): Promise<void> {
      await client.send(
        new PutObjectCommand({ Bucket, Key: key, Body: data, ContentType: contentType }),
      );
    },
    async ensureBucket(): Promise<void> {
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
      } catch {
        await client.send(new CreateBucketCommand({ Bucket }));
      }
    },
    async purge() {
      let objects = 0;
      let bytes = 0;
      for await (const page of paginateListObjectsV2({ client }, { Bucket })) {
        const contents = page.Contents ?? [];
        if (contents.length === 0) continue;
        for (const item of contents) bytes += item.Size ?? 0;
        objects += contents.length;
        await client.send(
          new DeleteObjectsCommand({
            Bucket,
            Delete: { Objects: contents.map((item) => ({ Key: item.Key })), Quiet: true },
          }),
        );
      }
      return { objects, bytes };
    },
  };
}
