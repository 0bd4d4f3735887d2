import { startS3TestServer } from "@mediagate/test-servers";
import type { BackendFixture } from "./types.ts";

const BUCKET = "mediagate-e2e";

/**
 * s3rver behind the signature-checking recording proxy, on free ports; the gateway creates
 * the bucket itself (STORAGE_CREATE_BUCKET=true). The inventory reads s3rver's folder, not
 * the adapter: objects are stored keys, leftovers are multipart uploads never completed or
 * aborted (s3rver keeps their parts until an AbortMultipartUpload).
 */
export const s3Backend: BackendFixture = {
  name: "s3",
  async start() {
    const server = await startS3TestServer({ buckets: [] });
    return {
      env: {
        STORAGE_PROVIDER: "s3",
        S3_BUCKET: BUCKET,
        S3_REGION: server.region,
        S3_ENDPOINT: server.endpoint,
        S3_FORCE_PATH_STYLE: "true",
        AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
        STORAGE_CREATE_BUCKET: "true",
      },
      async inventory() {
        const uploads = await server.openUploads(BUCKET);
        return {
          objects: await server.objects(BUCKET),
          leftovers: uploads.map(
            (u) => `multipart upload ${u.uploadId} for ${u.key ?? "(no key)"}`,
          ),
        };
      },
      stop: () => server.stop(),
    };
  },
};
