import {
  accountNameProblem,
  connectionStringProblem,
  containerNameProblem,
  endpointProblem,
  sasTokenProblem,
} from "@mediagate/azure/rules";
import { z } from "zod";
import { keyPrefixField, sizeField, wholeNumberField } from "../../config/fields.ts";
import { describeVars } from "../../config/schema.ts";
import type { StorageProvider } from "./types.ts";

const MiB = 1024 * 1024;

/** A string checked by one of the adapter's rules (which return a problem or undefined). */
const ruled = (problem: (value: string) => string | undefined) =>
  z
    .string()
    .trim()
    .superRefine((value, ctx) => {
      const message = problem(value);
      if (message) ctx.addIssue({ code: "custom", message });
    });

const env = z
  .object({
    // Secrets (connection string, key, SAS token) are checked but never echoed back.
    AZURE_STORAGE_CONNECTION_STRING: ruled(connectionStringProblem).optional(),
    AZURE_STORAGE_ACCOUNT: ruled(accountNameProblem).optional(),
    AZURE_STORAGE_KEY: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be the account's base64 access key")
      .optional(),
    AZURE_STORAGE_SAS_TOKEN: ruled(sasTokenProblem).optional(),
    AZURE_CONTAINER: z
      .string({ error: "is required: the container uploads are stored in" })
      .trim()
      .superRefine((value, ctx) => {
        const message = containerNameProblem(value);
        if (message) ctx.addIssue({ code: "custom", message });
      }),
    AZURE_BLOB_ENDPOINT: ruled(endpointProblem).optional(),
    AZURE_PREFIX: keyPrefixField.optional(),
    AZURE_BUFFER_SIZE: sizeField({ min: MiB, max: 4000 * MiB, range: "1mb to 4000mb" }).optional(),
    AZURE_CONCURRENCY: wholeNumberField(1, 64).optional(),
  })
  .superRefine((value, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if (value.AZURE_STORAGE_CONNECTION_STRING !== undefined) {
      for (const name of [
        "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_BLOB_ENDPOINT",
      ] as const) {
        if (value[name] !== undefined) {
          issue(
            name,
            "cannot be combined with AZURE_STORAGE_CONNECTION_STRING, which already names the account, its endpoint and credentials",
          );
        }
      }
      return;
    }
    if (value.AZURE_STORAGE_ACCOUNT === undefined) {
      issue(
        "AZURE_STORAGE_ACCOUNT",
        "is required (or AZURE_STORAGE_CONNECTION_STRING): the storage account to use",
      );
      return;
    }
    if (value.AZURE_STORAGE_KEY !== undefined && value.AZURE_STORAGE_SAS_TOKEN !== undefined) {
      issue("AZURE_STORAGE_SAS_TOKEN", "cannot be combined with AZURE_STORAGE_KEY: set one");
    }
    const entraId =
      value.AZURE_STORAGE_KEY === undefined && value.AZURE_STORAGE_SAS_TOKEN === undefined;
    if (entraId && value.AZURE_BLOB_ENDPOINT?.startsWith("http:")) {
      issue(
        "AZURE_BLOB_ENDPOINT",
        "must be https with Entra ID (no AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN): tokens are never sent over http",
      );
    }
  });

// The README's azure table is generated from these (scripts/env-tables.ts).
describeVars(env.shape, "azure", {
  AZURE_STORAGE_CONNECTION_STRING: [
    "—",
    "a connection string from the portal's _Access keys_ page (or a SAS connection string); nothing else needed",
  ],
  AZURE_STORAGE_ACCOUNT: ["—", "the storage account, instead of a connection string"],
  AZURE_STORAGE_KEY: ["—", "with the account: its access key"],
  AZURE_STORAGE_SAS_TOKEN: [
    "—",
    "with the account: a SAS token (`rcwdl` on blobs) instead of the key",
  ],
  AZURE_CONTAINER: ["— (required)", "the container"],
  AZURE_BLOB_ENDPOINT: [
    "`https://<account>.blob.core.windows.net`",
    "another endpoint, e.g. Azurite's `http://azurite:10000/devstoreaccount1`",
  ],
  AZURE_PREFIX: ["—", "keep every blob under this prefix in the container"],
  AZURE_BUFFER_SIZE: [
    "`4mb`",
    "block size: files up to one block go in one request; memory per upload ≈ (concurrency + 1) × block",
  ],
  AZURE_CONCURRENCY: ["`4`", "blocks of one upload in flight at a time"],
});

/**
 * Azure Blob Storage. Credentials: AZURE_STORAGE_CONNECTION_STRING; or AZURE_STORAGE_ACCOUNT
 * with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN; or AZURE_STORAGE_ACCOUNT alone for
 * Entra ID through DefaultAzureCredential (managed identity, workload identity, AZURE_CLIENT_*
 * service principal variables, Azure CLI login). AZURE_BLOB_ENDPOINT points at Azurite or a
 * sovereign cloud.
 */
export const azureProvider: StorageProvider<typeof env> = {
  name: "azure",
  env,
  async create(config, { createBucket }) {
    const { AzureBlobAdapter } = await import("@mediagate/azure");
    const container = config.AZURE_CONTAINER;
    const tuning = {
      ...(config.AZURE_PREFIX !== undefined && { prefix: config.AZURE_PREFIX }),
      ...(config.AZURE_BUFFER_SIZE !== undefined && { bufferSize: config.AZURE_BUFFER_SIZE }),
      ...(config.AZURE_CONCURRENCY !== undefined && { concurrency: config.AZURE_CONCURRENCY }),
    };
    const account = {
      accountName: config.AZURE_STORAGE_ACCOUNT ?? "",
      container,
      ...(config.AZURE_BLOB_ENDPOINT !== undefined && { endpoint: config.AZURE_BLOB_ENDPOINT }),
      ...tuning,
    };
    const adapter =
      config.AZURE_STORAGE_CONNECTION_STRING !== undefined
        ? new AzureBlobAdapter({
            connectionString: config.AZURE_STORAGE_CONNECTION_STRING,
            container,
            ...tuning,
          })
        : config.AZURE_STORAGE_KEY !== undefined
          ? new AzureBlobAdapter({ ...account, accountKey: config.AZURE_STORAGE_KEY })
          : config.AZURE_STORAGE_SAS_TOKEN !== undefined
            ? new AzureBlobAdapter({ ...account, sasToken: config.AZURE_STORAGE_SAS_TOKEN })
            : new AzureBlobAdapter(account);
    if (createBucket) await adapter.createContainerIfMissing();
    return adapter;
  },
};
