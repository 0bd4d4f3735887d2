import { access, constants } from "node:fs/promises";
import { parseCredentials } from "@mediagate/gcs/credentials";
import { z } from "zod";
import { keyPrefixField, sizeField } from "../../config/fields.ts";
import { describeVars } from "../../config/schema.ts";
import type { StorageProvider } from "./types.ts";

const CHUNK_GRANULARITY = 256 * 1024;

/** A StorageError's message without its "GCS credentials: " lead, for "VARIABLE message" lines. */
const reason = (err: unknown) =>
  (err instanceof Error ? err.message : String(err))
    .replace(/^GCS credentials: /, "")
    .replace(/\.$/, "");

const size = sizeField({ min: 1 });

const env = z
  .object({
    GCS_BUCKET: z
      .string({ error: "is required: the bucket uploads are stored in" })
      .trim()
      .regex(
        /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/,
        "must be a bucket name (lowercase letters, digits, '-', '_', '.')",
      ),
    GCS_PROJECT_ID: z.string().trim().optional(),
    GCS_API_ENDPOINT: z
      .string()
      .trim()
      .refine(
        (text) => /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(text),
        "must be an http(s) URL like http://localhost:4443",
      )
      .optional(),
    // Never echoed back: it holds a private key.
    GCS_CREDENTIALS: z
      .string()
      .transform((text, ctx) => {
        try {
          return parseCredentials(text);
        } catch (err) {
          ctx.addIssue({
            code: "custom",
            message: `${reason(err)} (give the key file's JSON, raw or base64)`,
          });
          return z.NEVER;
        }
      })
      .optional(),
    GCS_KEY_FILE: z.string().trim().optional(),
    GCS_PREFIX: keyPrefixField.optional(),
    GCS_SINGLE_REQUEST_MAX: size.optional(),
    GCS_CHUNK_SIZE: size
      .refine(
        (bytes) => bytes % CHUNK_GRANULARITY === 0,
        "must be a multiple of 256kb (GCS's chunk granularity), like 8mb",
      )
      .optional(),
  })
  .superRefine((value, ctx) => {
    if (value.GCS_CREDENTIALS !== undefined && value.GCS_KEY_FILE !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["GCS_KEY_FILE"],
        message: "cannot be combined with GCS_CREDENTIALS: set one",
      });
    }
  });

// The README's gcs table is generated from these (scripts/env-tables.ts).
describeVars(env.shape, "gcs", {
  GCS_BUCKET: ["— (required)", "the bucket"],
  GCS_PROJECT_ID: [
    "from the credentials",
    "the project (needed to create a bucket on an emulator)",
  ],
  GCS_API_ENDPOINT: ["Google", "another endpoint, e.g. `http://fake-gcs:4443`"],
  GCS_CREDENTIALS: [
    "—",
    "a service-account key file's JSON, raw or base64 (`$(base64 -w0 key.json)`)",
  ],
  GCS_KEY_FILE: ["—", "path to a key file instead (not both)"],
  GCS_PREFIX: ["—", "keep every object under this prefix in the bucket"],
  GCS_SINGLE_REQUEST_MAX: [
    "`8mb`",
    "files up to this size go in one request; larger ones resumably",
  ],
  GCS_CHUNK_SIZE: ["`8mb`", "chunk size of resumable uploads (a multiple of `256kb`)"],
});

/**
 * Google Cloud Storage. Credentials come from GCS_CREDENTIALS (a key file's JSON, raw or
 * base64), GCS_KEY_FILE, or else Application Default Credentials; GCS_API_ENDPOINT points
 * at an emulator such as fake-gcs-server.
 */
export const gcsProvider: StorageProvider<typeof env> = {
  name: "gcs",
  env,
  async create(config, { createBucket }) {
    if (config.GCS_KEY_FILE !== undefined) {
      // Caught here, at start-up, rather than on the first upload.
      await access(config.GCS_KEY_FILE, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
        throw new Error(
          `GCS_KEY_FILE ${config.GCS_KEY_FILE} cannot be read (${err.code ?? err.message})`,
        );
      });
    }
    const { GcsAdapter } = await import("@mediagate/gcs");
    const adapter = new GcsAdapter({
      bucket: config.GCS_BUCKET,
      ...(config.GCS_PROJECT_ID !== undefined && { projectId: config.GCS_PROJECT_ID }),
      ...(config.GCS_API_ENDPOINT !== undefined && { apiEndpoint: config.GCS_API_ENDPOINT }),
      ...(config.GCS_CREDENTIALS !== undefined && { credentials: config.GCS_CREDENTIALS }),
      ...(config.GCS_KEY_FILE !== undefined && { keyFile: config.GCS_KEY_FILE }),
      ...(config.GCS_PREFIX !== undefined && { prefix: config.GCS_PREFIX }),
      ...(config.GCS_SINGLE_REQUEST_MAX !== undefined && {
        singleRequestMaxBytes: config.GCS_SINGLE_REQUEST_MAX,
      }),
      ...(config.GCS_CHUNK_SIZE !== undefined && { chunkSize: config.GCS_CHUNK_SIZE }),
    });
    if (createBucket) await adapter.ensureBucket();
    return adapter;
  },
};
