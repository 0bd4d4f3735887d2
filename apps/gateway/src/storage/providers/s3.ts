import { z } from "zod";
import { booleanField, keyPrefixField, sizeField, wholeNumberField } from "../../config/fields.ts";
import { describeVars } from "../../config/schema.ts";
import type { StorageProvider } from "./types.ts";

const MiB = 1024 * 1024;

const env = z
  .object({
    S3_BUCKET: z
      .string({ error: "is required: the bucket uploads are stored in" })
      .trim()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        "must be an S3 bucket name (3 to 63 lowercase letters, digits, '-' and '.')",
      ),
    S3_REGION: z
      .string()
      .trim()
      .regex(/^[a-z0-9-]+$/, "must be a region like eu-west-1 (or auto for Cloudflare R2)")
      .optional(),
    S3_ENDPOINT: z
      .string()
      .trim()
      .refine(
        (text) => /^https?:\/\/[^/?#\s]+\/?$/.test(text),
        "must be an http(s) origin like http://minio:9000 or https://<account>.r2.cloudflarestorage.com",
      )
      .optional(),
    S3_FORCE_PATH_STYLE: booleanField.optional(),
    S3_PREFIX: keyPrefixField.optional(),
    S3_PART_SIZE: sizeField({ min: 5 * MiB, max: 5 * 1024 * MiB, range: "5mb to 5gb" }).optional(),
    S3_QUEUE_SIZE: wholeNumberField(1, 64).optional(),
    S3_CHECKSUM: z
      .enum(["when-required", "when-supported"], {
        error:
          "must be when-required (MinIO, R2 and most S3-compatible stores) or when-supported (AWS)",
      })
      .optional(),
    S3_FINAL_METADATA: z
      .enum(["tags", "copy"], {
        error: "must be tags (AWS, MinIO) or copy (stores without object tagging, like R2)",
      })
      .optional(),
    S3_RETRY_MODE: z
      .enum(["adaptive", "standard"], { error: "must be adaptive or standard" })
      .optional(),
    S3_MAX_ATTEMPTS: wholeNumberField(1, 20).optional(),
    // Read here as well as by the SDK's default chain, so a provider built from an env
    // object (not process.env) gets them too. Secrets are never echoed back.
    AWS_ACCESS_KEY_ID: z.string().trim().min(1).optional(),
    AWS_SECRET_ACCESS_KEY: z.string().trim().min(1).optional(),
    AWS_SESSION_TOKEN: z.string().trim().min(1).optional(),
    AWS_REGION: z.string().trim().min(1).optional(),
  })
  .superRefine((value, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if ((value.AWS_ACCESS_KEY_ID === undefined) !== (value.AWS_SECRET_ACCESS_KEY === undefined)) {
      const missing =
        value.AWS_ACCESS_KEY_ID === undefined ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY";
      issue(missing, "is required when the other half of the access key is set");
    }
    // Without a region the SDK fails on the first request, long after start-up.
    if (
      value.S3_REGION === undefined &&
      value.AWS_REGION === undefined &&
      value.S3_ENDPOINT === undefined
    ) {
      issue(
        "S3_REGION",
        "is required for AWS (the bucket's region, like eu-west-1), unless AWS_REGION is set",
      );
    }
    if (value.AWS_SESSION_TOKEN !== undefined && value.AWS_ACCESS_KEY_ID === undefined) {
      issue("AWS_SESSION_TOKEN", "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
  });

// The README's s3 table is generated from these (scripts/env-tables.ts).
describeVars(env.shape, "s3", {
  S3_BUCKET: ["— (required)", "the bucket"],
  S3_REGION: [
    "`AWS_REGION`",
    "the bucket's region, required on AWS (`us-east-1` with `S3_ENDPOINT`; `auto` for R2)",
  ],
  S3_ENDPOINT: [
    "AWS",
    "another store: `http://minio:9000`, `https://<account>.r2.cloudflarestorage.com`…",
  ],
  S3_FORCE_PATH_STYLE: ["`false`", "`true` for MinIO and most self-hosted stores"],
  S3_PREFIX: ["—", "keep every object under this prefix in the bucket"],
  S3_PART_SIZE: [
    "`5mb`",
    "files up to one part go in one request; larger ones as multipart uploads of parts this size",
  ],
  S3_QUEUE_SIZE: ["`4`", "parts of one upload in flight at a time"],
  S3_CHECKSUM: [
    "`when-required`",
    "`when-supported` adds the SDK's CRC32 checksums (AWS only; MinIO, R2 and others reject them)",
  ],
  S3_FINAL_METADATA: [
    "`tags`",
    "where a multipart upload's size and SHA-256 go once its body has ended: object tags (one small request) or `copy` (a server-side copy that grows with the file; for stores without tagging, like R2)",
  ],
  S3_RETRY_MODE: [
    "`adaptive`",
    "the SDK's retry mode: `adaptive` slows down on `SlowDown` throttling, `standard` does not",
  ],
  S3_MAX_ATTEMPTS: ["the SDK's (`3`)", "attempts per request, retries included"],
  AWS_ACCESS_KEY_ID: [
    "the AWS default chain",
    "static access key id; without it profiles, web identity and ECS/EC2 roles apply",
  ],
  AWS_SECRET_ACCESS_KEY: ["—", "the secret half of the static access key"],
  AWS_SESSION_TOKEN: ["—", "session token of temporary static credentials"],
  AWS_REGION: ["—", "the SDK's region variable, used when `S3_REGION` is unset"],
});

/**
 * Amazon S3 and S3-compatible stores (MinIO, Cloudflare R2, Wasabi, DigitalOcean Spaces).
 * Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set, else the AWS default chain
 * (profiles, web identity, container and instance roles).
 */
export const s3Provider: StorageProvider<typeof env> = {
  name: "s3",
  env,
  async create(config, { createBucket }) {
    // Imported here, not at the top, so the gateway only loads the backend it runs on.
    const { S3Adapter } = await import("@mediagate/s3");
    const region = config.S3_REGION ?? config.AWS_REGION;
    const adapter = new S3Adapter({
      bucket: config.S3_BUCKET,
      ...(region !== undefined && { region }),
      ...(config.S3_ENDPOINT !== undefined && { endpoint: config.S3_ENDPOINT }),
      ...(config.S3_FORCE_PATH_STYLE !== undefined && {
        forcePathStyle: config.S3_FORCE_PATH_STYLE,
      }),
      ...(config.S3_PREFIX !== undefined && { prefix: config.S3_PREFIX }),
      ...(config.S3_PART_SIZE !== undefined && { partSize: config.S3_PART_SIZE }),
      ...(config.S3_QUEUE_SIZE !== undefined && { queueSize: config.S3_QUEUE_SIZE }),
      ...(config.S3_CHECKSUM !== undefined && { checksum: config.S3_CHECKSUM }),
      ...(config.S3_FINAL_METADATA !== undefined && {
        finalMetadataStorage: config.S3_FINAL_METADATA,
      }),
      ...(config.S3_RETRY_MODE !== undefined && { retryMode: config.S3_RETRY_MODE }),
      ...(config.S3_MAX_ATTEMPTS !== undefined && { maxAttempts: config.S3_MAX_ATTEMPTS }),
      ...(config.AWS_ACCESS_KEY_ID !== undefined &&
        config.AWS_SECRET_ACCESS_KEY !== undefined && {
          credentials: {
            accessKeyId: config.AWS_ACCESS_KEY_ID,
            secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
            ...(config.AWS_SESSION_TOKEN !== undefined && {
              sessionToken: config.AWS_SESSION_TOKEN,
            }),
          },
        }),
    });
    if (createBucket) await adapter.createBucket();
    return adapter;
  },
};
