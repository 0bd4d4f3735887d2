import { constants } from "node:fs";
import { readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isValidKey, type Metadata } from "@mediagate/core";
import { fsyncFd, type Io } from "./io.ts";

/** Everything about an object that its file cannot carry. */
export interface Sidecar {
  key: string;
  /** The version of the bytes this sidecar describes (also in its file name). */
  size: number;
  mtimeMs: number;
  etag: string;
  contentType: string;
  contentDisposition?: string;
  metadata: Metadata;
}

/** Unchanged since the first layout: only where sidecars are kept has moved. */
const FORMAT = 1;

export function serializeSidecar(sidecar: Sidecar): Buffer {
  return Buffer.from(JSON.stringify({ format: FORMAT, ...sidecar }));
}

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

/** Parses a sidecar's text; with `key`, only one that names that key is accepted. */
export function parseSidecar(text: string, key?: string): Sidecar | undefined {
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
    (key !== undefined && v.key !== key) ||
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
    ...(v.contentDisposition === undefined
      ? {}
      : { contentDisposition: v.contentDisposition as string }),
    metadata: { ...(metadata as Metadata) },
  };
}

/**
 * Writes the sidecar under `path`, refusing to replace an existing one (O_EXCL): returns
 * false when `path` was already taken (that version is described already: the caller picks
 * another). With `durable`, its bytes are fsynced before this resolves (its folder entry
 * is the caller's to sync, alongside).
 *
 * Written in place rather than under a temp name: a reader only looks a sidecar up after
 * finding a data file of its version, and that file is renamed into place only once this
 * has resolved. A process killed mid-write leaves a sidecar for a version no file has,
 * which no reader asks for and the sweep removes.
 */
export async function publishSidecar(
  io: Io,
  path: string,
  bytes: Buffer,
  durable: boolean,
): Promise<boolean> {
  let fd: number;
  try {
    fd = await io.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await io.writeAll(fd, [bytes]);
    if (durable) await fsyncFd(fd);
  } catch (err) {
    // Ours (O_EXCL created it): a half-written sidecar must not stay behind.
    await Promise.resolve(io.close(fd)).catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  await io.close(fd);
  return true;
}

/** Every readable sidecar in a legacy key folder (normally one). */
export async function readLegacySidecars(dir: string, key: string): Promise<Sidecar[]> {
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
