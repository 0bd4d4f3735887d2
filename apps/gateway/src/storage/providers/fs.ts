import { z } from "zod";
import { booleanField } from "../../config/fields.ts";
import type { StorageProvider } from "./types.ts";

const env = z.object({
  FS_ROOT: z
    .string()
    .trim()
    .min(1, "must name a folder")
    .refine((path) => !path.includes("\0"), "must not contain NUL characters")
    .default("./data"),
  FS_DURABLE: booleanField.optional(),
});

/** The local-folder backend: objects are files under FS_ROOT. */
export const fsProvider: StorageProvider<typeof env> = {
  name: "fs",
  env,
  async create(config, { createBucket }) {
    // Imported here, not at the top, so the gateway only loads the backend it runs on.
    const { FsAdapter } = await import("@mediagate/fs");
    return new FsAdapter({
      root: config.FS_ROOT,
      createRoot: createBucket,
      durable: config.FS_DURABLE ?? true,
    });
  },
};
