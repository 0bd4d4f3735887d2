import { randomBytes } from "node:crypto";
import { createWriteStream, type ReadStream } from "node:fs";
import { mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StorageError } from "@mediagate/core";
import { HttpError } from "../http/errors.ts";

/** A file part parked on local disk until the fields that authenticate it have arrived. */
export interface SpooledFile {
  path: string;
  size: number;
  /** Bytes of the budget it holds until removed. */
  readonly reserved: number;
}

export const spoolFull = () =>
  new HttpError(
    "SPOOL_FULL",
    "The server is holding too many files sent before their fields; send the fields first, or try again later.",
  );

/** Spool files are named so; anything else in the folder is not ours to sweep. */
const SPOOL_FILE = /^spool-[0-9a-f]{32}$/;

/**
 * Where a file part that came before its fields waits: a plain temp file in SPOOL_DIR,
 * removed once its upload is answered. Spooling happens before any token is checked, so the
 * bytes this process holds there at once are capped (SPOOL_MAX_BYTES): a part is refused
 * with SPOOL_FULL the moment a chunk would go over, and its file removed. Several gateways
 * may share the folder; each counts only its own files and sweeps only files no live upload
 * of its own holds.
 */
export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  #used = 0;
  #ready: Promise<void> | undefined;
  /** Files this process is writing or holding: never swept. */
  readonly #live = new Set<string>();

  constructor(dir: string, maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError("A spool needs a positive size.");
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** Bytes of the budget held right now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Writes `body` to a new spool file. Reads with `pipe`, so a refusal stops reading the part
   * without destroying it (multer drains the request). Rejects, leaving no file and holding
   * nothing, on SPOOL_FULL, a body error or `signal`.
   */
  async write(body: Readable, signal: AbortSignal): Promise<SpooledFile> {
    await (this.#ready ??= mkdir(this.dir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        this.#ready = undefined;
        throw err;
      },
    ));
    const path = join(this.dir, `spool-${randomBytes(16).toString("hex")}`);
    this.#live.add(path);
    const budget = new BudgetMeter(this);
    const onBodyError = (err: Error) => budget.destroy(err);
    body.once("error", onBodyError);
    body.pipe(budget);
    try {
      await pipeline(budget, createWriteStream(path, { flags: "wx" }), { signal });
      return { path, size: budget.bytes, reserved: budget.bytes };
    } catch (err) {
      body.unpipe(budget);
      budget.destroy();
      this.#release(budget.bytes);
      this.#live.delete(path);
      await unlink(path).catch(() => undefined);
      // The signal's reason (size limit, client gone) says more than pipeline's AbortError.
      const reason: unknown = signal.aborted ? signal.reason : undefined;
      throw budget.refusal ?? (reason instanceof Error ? reason : spoolError(err));
    } finally {
      body.off("error", onBodyError);
    }
  }

  /** The file's bytes; opened before it returns, so a stream never races its removal. */
  async open(file: SpooledFile): Promise<ReadStream> {
    const handle = await open(file.path, "r");
    return handle.createReadStream();
  }

  /** Removes the file and gives its bytes back, even if the unlink fails (it is logged). */
  async remove(file: SpooledFile): Promise<void> {
    if (!this.#live.delete(file.path)) return;
    this.#release(file.reserved);
    await unlink(file.path);
  }

  /**
   * Removes spool files older than `olderThanMs` that no live upload of this process holds:
   * those of a process that died (a live writer renews its file's mtime with every write).
   */
  async sweep(olderThanMs: number): Promise<{ files: number; bytes: number }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { files: 0, bytes: 0 };
      throw err;
    }
    const swept = { files: 0, bytes: 0 };
    const cutoff = Date.now() - olderThanMs;
    for (const name of names) {
      const path = join(this.dir, name);
      if (!SPOOL_FILE.test(name) || this.#live.has(path)) continue;
      const stats = await stat(path).catch(() => undefined);
      if (!stats?.isFile() || stats.mtimeMs > cutoff) continue;
      if (
        await unlink(path).then(
          () => true,
          () => false,
        )
      ) {
        swept.files++;
        swept.bytes += stats.size;
      }
    }
    return swept;
  }

  reserve(bytes: number): boolean {
    if (this.#used + bytes > this.maxBytes) return false;
    this.#used += bytes;
    return true;
  }

  #release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** Counts a part's bytes against the spool's budget as they pass. */
class BudgetMeter extends Transform {
  bytes = 0;
  refusal: HttpError | undefined;
  readonly #spool: Spool;

  constructor(spool: Spool) {
    super();
    this.#spool = spool;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.#spool.reserve(chunk.length)) {
      this.refusal = spoolFull();
      return done(this.refusal);
    }
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** Disk errors as storage errors, so a full spool disk answers like a full store. */
function spoolError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new StorageError("Full", "The spool folder's disk is full.", {
      operation: "spool",
      cause: err,
    });
  }
  return err;
}
