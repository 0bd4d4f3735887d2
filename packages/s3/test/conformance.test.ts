import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { describeConformance } from "@mediagate/core/conformance";
import type { S3TestServer } from "@mediagate/test-servers";
import { S3Adapter } from "../src/index.ts";
import { BUCKET, adapterFor, closedPort, openUploads, startServer } from "./helpers.ts";

let server: S3TestServer;
let deadPort: number;
let adapter: S3Adapter;

describeConformance({
  name: "s3 on s3rver",
  signedUrls: true,
  setup: async () => {
    server = await startServer();
    deadPort = await closedPort();
    adapter = adapterFor(server);
    return {
      adapter,
      // Multipart uploads s3rver still holds: every failed write must have aborted its own.
      leftovers: () => openUploads(server),
      teardown: () => server.stop(),
    };
  },
  unreachable: () =>
    new S3Adapter({
      bucket: BUCKET,
      endpoint: `http://127.0.0.1:${deadPort}`,
      forcePathStyle: true,
      credentials: { ...server.credentials },
    }),
  missingBucket: () => adapterFor(server, { bucket: "no-such-bucket" }),
  prefixed: (prefix) => adapterFor(server, { prefix }),
  // Straight through the SDK: names the adapter itself would refuse.
  // A write whose process died after its first part: an open multipart upload.
  abandonedUploads: {
    abandon: async (key) => {
      const { UploadId } = await adapter.client.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }),
      );
      await adapter.client.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(1024, 1),
        }),
      );
    },
  },
  rawObjects: {
    put: async (name, bytes) => {
      await adapter.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: name, Body: bytes }));
    },
    remove: async (name) => {
      await adapter.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: name }));
    },
  },
});
