import { createHash, type Hash } from "node:crypto";
import { pipeline, Transform, type Readable, type TransformCallback } from "node:stream";
import { isStorageError, type ObjectInfo, type StorageAdapter } from "@mediagate/core";
import { ciphertextSize, decodeEnvelope, envelopeFormat } from "@mediagate/encryption";
import type { LedgerRecord } from "@mediagate/ledger";
import { ENVELOPE } from "../encryption/hook.ts";

/** Where a copy went wrong: the target side failing repeatedly means stop trying. */
export type FailureSide = "source" | "target" | "verify";

export type CopyOutcome =
  { ok: true; bytes: number } | { ok: false; side: FailureSide; reason: string; code?: string };

export interface CopyOptions {
  signal: AbortSignal;
  /** Called with each chunk's length as it streams from the source. */
  onBytes: (bytes: number) => void;
}

/** Hashes and counts the bytes that pass, reporting each chunk. */
class Meter extends Transform {
  readonly hash: Hash = createHash("sha256");
  bytes = 0;
  readonly #onBytes: (bytes: number) => void;

  constructor(onBytes: (bytes: number) => void) {
    super();
    this.#onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.#onBytes(chunk.length);
    done(null, chunk);
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const failure = (side: FailureSide, reason: string, err?: unknown): CopyOutcome => ({
  ok: false,
  side,
  reason,
  ...(isStorageError(err) && { code: err.code }),
});

/**
 * The size the stored object must have, from the ledger: the plaintext's size, or for an
 * encrypted object (its envelope in metadata) the size of that plaintext's ciphertext.
 * Checked before a byte is copied, so a truncated object is never carried over.
 */
function storedSizeProblem(record: LedgerRecord, info: ObjectInfo): string | undefined {
  const envelope = info.metadata[ENVELOPE];
  let expected = record.size;
  if (envelope !== undefined) {
    try {
      expected = ciphertextSize(record.size, envelopeFormat(decodeEnvelope(envelope)));
    } catch (err) {
      return `its encryption envelope cannot be read (${message(err)})`;
    }
  }
  if (info.size === expected) return undefined;
  const what = envelope === undefined ? "" : " of ciphertext";
  return `the source holds ${info.size} bytes, the ledger's record means ${expected}${what}`;
}

const sameMetadata = (a: Record<string, string>, b: Record<string, string>) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
};

/** What differs between the source's object and what the target answers for the copy. */
function describedDifferently(source: ObjectInfo, copy: ObjectInfo): string | undefined {
  if (copy.contentType !== source.contentType) {
    return `the target answers content type ${copy.contentType}, not ${source.contentType}`;
  }
  if ((copy.contentDisposition ?? "") !== (source.contentDisposition ?? "")) {
    return "the target answers another content disposition";
  }
  if (!sameMetadata(source.metadata, copy.metadata)) return "the target answers other metadata";
  return undefined;
}

/** Streams the object back from the target: its size and SHA-256. */
async function readBack(
  target: StorageAdapter,
  key: string,
  signal: AbortSignal,
): Promise<{ info: ObjectInfo; bytes: number; sha256: string }> {
  const { info, body } = await target.read(key, { signal });
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { info, bytes, sha256: hash.digest("hex") };
}

/**
 * Copies one recorded object from `source` to `target` under the same key, with its content
 * type, disposition and metadata, streaming; then verifies it: the bytes read from the source
 * must hash to the ledger's SHA-256 (plaintext objects; encrypted ones are ciphertext and are
 * carried byte for byte), and the copy, read back from the target, must hash to what the
 * source gave and be described the same. A copy that fails verification is removed again, so
 * only verified copies are left on the target.
 */
export async function copyObject(
  record: LedgerRecord,
  source: StorageAdapter,
  target: StorageAdapter,
  options: CopyOptions,
): Promise<CopyOutcome> {
  const { key } = record;
  const { signal } = options;
  let info: ObjectInfo;
  let body: Readable;
  try {
    ({ info, body } = await source.read(key, { signal }));
  } catch (err) {
    const missing = isStorageError(err, "NotFound");
    return failure("source", missing ? "the source has no such object" : message(err), err);
  }
  const sizeProblem = storedSizeProblem(record, info);
  if (sizeProblem) {
    body.destroy();
    return failure("verify", sizeProblem);
  }
  const meter = new Meter(options.onBytes);
  // Seen as the source fails, before the write it ends rejects: the failure is the source's.
  let sourceError: Error | undefined;
  body.once("error", (err: Error) => (sourceError ??= err));
  pipeline(body, meter, () => {});
  try {
    await target.write(key, meter, {
      contentType: info.contentType,
      ...(info.contentDisposition !== undefined && {
        contentDisposition: info.contentDisposition,
      }),
      metadata: info.metadata,
      contentLength: info.size,
      signal,
    });
  } catch (err) {
    meter.destroy();
    body.destroy();
    if (sourceError) return failure("source", `reading the source: ${message(sourceError)}`);
    return failure("target", `writing the target: ${message(err)}`, err);
  }
  const sha256 = meter.hash.digest("hex");
  const plaintext = info.metadata[ENVELOPE] === undefined;
  let problem: string | undefined;
  if (meter.bytes !== info.size) {
    problem = `the source gave ${meter.bytes} bytes of ${info.size}`;
  } else if (plaintext && record.sha256 !== "" && sha256 !== record.sha256) {
    problem = "the source's bytes no longer hash to the SHA-256 the ledger recorded at upload";
  } else {
    try {
      const copy = await readBack(target, key, signal);
      if (copy.bytes !== info.size || copy.sha256 !== sha256) {
        problem = `the copy read back from the target differs (${copy.bytes} bytes, SHA-256 ${copy.sha256.slice(0, 12)}…)`;
      } else {
        problem = describedDifferently(info, copy.info);
      }
    } catch (err) {
      return failure("target", `reading the copy back: ${message(err)}`, err);
    }
  }
  if (problem === undefined) return { ok: true, bytes: meter.bytes };
  const removed = await removeCopy(target, key);
  return failure("verify", removed ? problem : `${problem}; the copy could not be removed`);
}

/** Best effort: a copy left behind is reported, and a re-run overwrites it. */
export async function removeCopy(target: StorageAdapter, key: string): Promise<boolean> {
  try {
    await target.delete(key);
    return true;
  } catch {
    return false;
  }
}
