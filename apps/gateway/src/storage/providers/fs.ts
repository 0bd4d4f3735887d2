import { z } from "zod";
import { booleanField, pathField } from "../../config/fields.ts";
import { describeVars } from "../../config/schema.ts";
import type { StorageProvider } from "./types.ts";

const env = z.object({
  FS_ROOT: pathField.default("./data"),
  FS_DURABLE: booleanField.optional(),
});

// The README's fs table is generated from these (scripts/env-tables.ts).
describeVars(env.shape, "fs", {
  FS_ROOT: ["`./data`", "the folder objects are stored in"],
  FS_DURABLE: [
    "`true`",
    "fsync each object, its metadata and its folder before answering; `false` is faster, but the last seconds of uploads can vanish with the machine",
  ],
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
