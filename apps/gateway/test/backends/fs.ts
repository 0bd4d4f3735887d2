import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { RESERVED_DIR } from "@mediagate/fs";
import type { BackendFixture } from "./types.ts";

/** Every file under `dir`; a folder the gateway removes meanwhile (emptied) holds none. */
async function* walk(dir: string, top = true): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    if (!top && (err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path, false);
    else yield path;
  }
}

/**
 * A temp folder as the store; no server to start. The inventory reads the folder itself,
 * not the adapter: objects are files outside FsAdapter's reserved folder; leftovers are temp
 * files of unfinished writes and sidecars that belong to no object.
 */
export const fsBackend: BackendFixture = {
  name: "fs",
  async start() {
    const root = await mkdtemp(join(tmpdir(), "mediagate-e2e-fs-"));
    return {
      // The folder exists; not creating it lets stop() (which removes it) make readiness fail.
      env: { STORAGE_PROVIDER: "fs", FS_ROOT: root, STORAGE_CREATE_BUCKET: "false" },
      async inventory() {
        const objects: string[] = [];
        const reserved: string[] = [];
        for await (const path of walk(root)) {
          const rel = relative(root, path).split(sep).join("/");
          (rel.startsWith(`${RESERVED_DIR}/`) ? reserved : objects).push(rel);
        }
        // A sidecar sits at `.mediagate/sidecars/<object path>~<version>.json`.
        const live = new Set(objects);
        const leftovers = reserved.filter((rel) => {
          const [, area, ...rest] = rel.split("/");
          if (area !== "sidecars") return true;
          const name = rest.pop() ?? "";
          return !live.has([...rest, name.slice(0, name.lastIndexOf("~"))].join("/"));
        });
        return { objects: objects.sort(), leftovers: leftovers.sort() };
      },
      async stop() {
        await rm(root, { recursive: true, force: true });
      },
    };
  },
};
