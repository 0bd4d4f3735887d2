import { z } from "zod";
import { booleanField, keyPrefixField, sizeField, wholeNumberField } from "../../config/fields.ts";
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
