import { mkdir, realpath, stat } from "node:fs/promises";
import { StorageError } from "@mediagate/core";
import type { DirSyncer } from "./dir-sync.ts";
import { FolderCache } from "./folder-cache.ts";
import type { Io } from "./io.ts";
import { poolIo } from "./io.ts";
import { Layout } from "./layout.ts";
import type { TempFile } from "./sink.ts";
import { createTemp, prepareTempArea, type TempArea } from "./temp-area.ts";

/** Key folders (and as many sidecar folders) whose real paths are remembered. */
const FOLDERS_KNOWN = 256;

/** What a resolved root keeps: its layout and the folders proven in it. */
export class RootState {
  readonly layout: Layout;
  readonly keyFolders: FolderCache;
  readonly sidecarFolders: FolderCache;
  #tempArea: Promise<TempArea> | undefined;

  constructor(realRoot: string, durable: boolean, dirSync: DirSyncer) {
    this.layout = new Layout(realRoot);
    const shared = { root: realRoot, limit: FOLDERS_KNOWN, durable, dirSync };
    this.keyFolders = new FolderCache({ ...shared, objects: true });
    this.sidecarFolders = new FolderCache({ ...shared, objects: false });
  }

  /** The temp folder, made and probed on first use (see temp-area.ts). */
  tempArea(): Promise<TempArea> {
    this.#tempArea ??= prepareTempArea(this.layout, poolIo).catch((err: unknown) => {
      this.#tempArea = undefined;
      throw err;
    });
    return this.#tempArea;
  }

  /** A new temp file; if its folder has gone (a swept or remounted volume), made again. */
  async createTemp(io: Io, owned: Set<string>): Promise<TempFile> {
    for (let attempt = 1; ; attempt++) {
      const area = await this.tempArea();
      try {
        return await createTemp(area, io, owned);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 2) throw err;
        this.#tempArea = undefined;
      }
    }
  }
}

/** Resolves the root (made first with `create`); NotFound when it is missing or no folder. */
export async function openRoot(
  root: string,
  create: boolean,
  durable: boolean,
  dirSync: DirSyncer,
): Promise<RootState> {
  if (create) await mkdir(root, { recursive: true });
  let real: string;
  try {
    real = await realpath(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new StorageError("NotFound", `The storage folder ${root} does not exist.`, {
        operation: "open",
        cause: err,
      });
    }
    throw err;
  }
  if (!(await stat(real)).isDirectory()) {
    throw new StorageError("NotFound", `The storage root ${root} is not a folder.`, {
      operation: "open",
    });
  }
  return new RootState(real, durable, dirSync);
}
