import { dirname } from "node:path";
import type { DirSyncer } from "./dir-sync.ts";
import { assertNotReserved, ensureDirInside } from "./paths.ts";

export interface FolderCacheOptions {
  root: string;
  /** Folders remembered; the oldest is forgotten first. */
  limit: number;
  /** Refuse folders whose real path leads into bookkeeping (true for objects' folders). */
  objects: boolean;
  /** fsync the parent of every folder made, so new folders survive a power loss. */
  durable: boolean;
  dirSync: DirSyncer;
}

/**
 * Folders writes put files in, made when missing and proven inside the root once, then
 * remembered: otherwise every write would resolve its folder again, a thread-pool round
 * trip and a readlink per path component. Swapping a remembered folder for a symlink
 * afterwards takes local write access to the root, which owns the store anyway. A folder a
 * delete pruned since is noticed by the write that needs it (its rename or create fails
 * with ENOENT), which `forget`s it and asks again.
 */
export class FolderCache {
  readonly #options: FolderCacheOptions;
  readonly #known = new Map<string, Promise<string>>();

  constructor(options: FolderCacheOptions) {
    this.#options = options;
  }

  /** The real path of `folder`, made (and made durable) when missing. */
  get(folder: string, operation: string, key: string): Promise<string> {
    const known = this.#known.get(folder);
    if (known) return known;
    const resolving = this.#make(folder, operation, key);
    if (this.#known.size >= this.#options.limit) {
      this.#known.delete(this.#known.keys().next().value as string);
    }
    this.#known.set(folder, resolving);
    resolving.catch(() => {
      if (this.#known.get(folder) === resolving) this.#known.delete(folder);
    });
    return resolving;
  }

  forget(folder: string): void {
    this.#known.delete(folder);
  }

  async #make(folder: string, operation: string, key: string): Promise<string> {
    const { root, objects, durable, dirSync } = this.#options;
    const { real, created } = await ensureDirInside(root, folder, operation, key);
    if (objects) assertNotReserved(root, real, operation, key);
    // Each new folder's entry lives in its parent. Synced whoever made it: a folder another
    // process has just made may not be durable yet either.
    if (durable) await Promise.all(created.map((dir) => dirSync.sync(dirname(dir))));
    return real;
  }
}
