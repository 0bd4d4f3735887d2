import { open, readdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isValidKey, type Metadata } from "@mediagate/core";
import { fsyncDir } from "./paths.ts";

/** Everything about an object that its file cannot carry. */
export interface Sidecar {
  key: string;
  /** The version of the bytes this sidecar describes (also its file name). */
  size: number;
  mtimeMs: number;
  etag: string;
  contentType: string;
  contentDisposition?: string;
  metadata: Metadata;
}

const FORMAT = 1;

/** The sidecar stored at `path`, or undefined when there is none (or it is unreadable). */
export async function readSidecar(path: string, key: string): Promise<Sidecar | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return parseSidecar(text, key);
}

function parseSidecar(text: string, key: string): Sidecar | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const metadata = v.metadata;
  const metadataOk =
    typeof metadata === "object" &&
    metadata !== null &&
    Object.values(metadata).every((m) => typeof m === "string");
  if (
    v.format !== FORMAT ||
    v.key !== key ||
    !isValidKey(v.key) ||
    typeof v.etag !== "string" ||
    !Number.isSafeInteger(v.size) ||
    !Number.isSafeInteger(v.mtimeMs) ||
    typeof v.contentType !== "string" ||
    (v.contentDisposition !== undefined && typeof v.contentDisposition !== "string") ||
    !metadataOk
  ) {
    return undefined;
  }
  return {
    key: v.key,
    size: v.size as number,
    mtimeMs: v.mtimeMs as number,
    etag: v.etag,
    contentType: v.contentType,
    contentDisposition: v.contentDisposition as string | undefined,
    metadata: { ...(metadata as Metadata) },
  };
}

/**
 * Writes the sidecar under `path`, refusing to replace an existing one (O_EXCL): returns
 * false when `path` was already taken. With `durable`, it and its folder are fsynced before
 * this resolves.
 *
 * It is written in place rather than under a temp name: a reader only looks a sidecar up
 * after finding a data file of its version, and that file is renamed into place only once
 * this has resolved. A crash mid-write leaves a sidecar for a version no file has, which no
 * reader asks for (a later write that lands on that version is refused here and moves its
 * mtime on, as for any taken version).
 */
export async function publishSidecar(
  sidecar: Sidecar,
  path: string,
  durable: boolean,
): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await handle.writeFile(JSON.stringify({ format: FORMAT, ...sidecar }));
    // Its bytes and its entry in the folder, side by side.
    if (durable) await Promise.all([handle.sync(), fsyncDir(dirname(path))]);
  } catch (err) {
    // Ours (O_EXCL created it): a half-written sidecar must not stay behind.
    await handle.close().catch(() => undefined);
    await rm(path, { force: true }).catch(() => undefined);
    throw err;
  }
  await handle.close();
  return true;
}

/** Every readable sidecar in a key's sidecar folder (normally one, two during a write). */
export async function readAllSidecars(dir: string, key: string): Promise<Sidecar[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const found = await Promise.all(
    names.filter((n) => n.endsWith(".json")).map((n) => readSidecar(join(dir, n), key)),
  );
  return found.filter((s): s is Sidecar => s !== undefined);
}
