import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Io } from "./io.ts";
import type { Layout } from "./layout.ts";
import { ensureDirInside } from "./paths.ts";
import type { TempFile } from "./sink.ts";

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/**
 * The temp folder of a root, made and proven inside it once, and what its filesystem does
 * with timestamps: a commit sets each file's mtime itself (the version it names), and where
 * the filesystem keeps whole milliseconds that saves reading the time back with fstat.
 */
export interface TempArea {
  real: string;
  /** Whether an mtime set to the middle of a millisecond reads back in that millisecond. */
  exactTimes: boolean;
}

/** A millisecond to probe with: its fraction is not representable in binary. */
const PROBE_MS = 1_700_000_000_123;

export async function prepareTempArea(layout: Layout, io: Io): Promise<TempArea> {
  const { real } = await ensureDirInside(layout.root, layout.tmpDir, "write");
  const probe = join(real, `probe-${randomUUID()}`);
  const fd = await io.open(probe, CREATE, 0o644);
  try {
    await io.futimes(fd, stampSeconds(PROBE_MS));
    const stats = await io.fstat(fd);
    return { real, exactTimes: stats.mtimeNs / 1_000_000n === BigInt(PROBE_MS) };
  } finally {
    await io.close(fd);
    await unlink(probe).catch(() => undefined);
  }
}

/**
 * The time to set for a version's millisecond: its middle, so the float seconds Node and
 * libuv pass on (truncated to microseconds) cannot fall into the millisecond before.
 */
export function stampSeconds(mtimeMs: number): number {
  return (mtimeMs + 0.5) / 1000;
}

/**
 * Creates a temp file for a write and records it in `owned` first, so the sweep of this
 * process never takes a live write's file, whatever its age.
 */
export async function createTemp(area: TempArea, io: Io, owned: Set<string>): Promise<TempFile> {
  const path = join(area.real, randomUUID());
  owned.add(path);
  try {
    return { path, fd: await io.open(path, CREATE, 0o644) };
  } catch (err) {
    owned.delete(path);
    throw err;
  }
}
