import type { File, FileMetadata } from "@google-cloud/storage";
import { StorageError, type Metadata } from "@mediagate/core";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { readHead, type BodyHead } from "./head.ts";

export interface UploadLimits {
  /** Bodies of at most this many bytes are sent in one request; larger ones resumably. */
  singleRequestMaxBytes: number;
  /** Bytes per resumable PUT; what the SDK buffers per upload. A multiple of 256 KiB. */
  chunkSize: number;
  /**
   * After an abort, how long a single-request upload already sent may still answer, so
   * that the object it made is deleted after it rather than land after the clean-up.
   */
  abortGraceMs: number;
}

export interface UploadRequest {
  key: string;
  contentType: string;
  contentDisposition: string | undefined;
  contentLength: number | undefined;
  metadata: Metadata;
  /**
   * The metadata to store, merged and checked, once the body has ended; undefined when all
   * of it is known up front.
   */
  finalMetadata: (() => Metadata) | undefined;
  signal: AbortSignal;
}

/** How long cleanup requests (cancelling a session, deleting a late object) may take. */
const CLEANUP_TIMEOUT_MS = 10_000;

/**
 * Streams a body into `file`. The first `singleRequestMaxBytes` (+1) bytes are read ahead:
 * a body that ends within them goes in one multipart request, which either creates the
 * object whole or not at all; a longer one goes through a resumable session, `chunkSize`
 * bytes per PUT. Content type, disposition and custom metadata are set by the request that
 * creates the object; only metadata known at the end of a resumably uploaded body is
 * patched on afterwards (see `patchFinalMetadata`).
 *
 * On failure or abort nothing is left behind: an open resumable session is cancelled
 * (destroying the SDK's stream does not end a PUT already in flight) and, unless GCS
 * confirms the cancellation, asked whether its last request completed it after all (then
 * that generation is deleted); a single-request upload already sent is given
 * `abortGraceMs` to answer, and the object it made is deleted after its answer.
 */
export async function uploadObject(
  file: File,
  body: Readable,
  request: UploadRequest,
  limits: UploadLimits,
): Promise<FileMetadata> {
  const head = await readHead(body, limits.singleRequestMaxBytes, request.signal);
  if (head.ended && request.contentLength !== undefined && head.bytes !== request.contentLength) {
    throw new StorageError(
      "InvalidArgument",
      `write "${request.key}": the body has ${head.bytes} bytes but contentLength said ${request.contentLength}.`,
      { operation: "write", key: request.key },
    );
  }
  const describe = (custom: Metadata): FileMetadata => ({
    contentType: request.contentType,
    ...(request.contentDisposition !== undefined && {
      contentDisposition: request.contentDisposition,
    }),
    ...(Object.keys(custom).length > 0 && { metadata: custom }),
  });
  try {
    if (head.ended) {
      // The whole body is in hand: the one request that creates the object carries it all.
      const metadata = describe(request.finalMetadata?.() ?? request.metadata);
      await settleAfterAbort(
        file.save(Buffer.concat(head.chunks, head.bytes), { resumable: false, metadata }),
        request.signal,
        limits.abortGraceMs,
        () => deleteIfCompleted(file),
      );
    } else {
      await resumableUpload(file, head, body, request, limits, describe(request.metadata));
      if (request.finalMetadata) await patchFinalMetadata(file, request.finalMetadata());
    }
  } catch (err) {
    await deleteIfCompleted(file);
    throw err;
  }
  if (request.signal.aborted) {
    // The abort came while the last request was on its way and the object was created
    // anyway; honour the abort rather than keep an object the caller gave up on.
    await deleteIfCompleted(file);
    throw request.signal.reason;
  }
  return file.metadata;
}

async function resumableUpload(
  file: File,
  head: BodyHead,
  body: Readable,
  request: UploadRequest,
  limits: UploadLimits,
  metadata: FileMetadata,
): Promise<void> {
  // Opening the session ourselves (rather than letting the write stream do it) means its
  // URI is known before any byte is sent, so every failure after this line can cancel it.
  const sessionMetadata = {
    ...metadata,
    ...(request.contentLength !== undefined && { contentLength: request.contentLength }),
  };
  const [uri] = await file.createResumableUpload({ metadata: sessionMetadata });
  try {
    request.signal.throwIfAborted();
    const sink = file.createWriteStream({
      uri,
      offset: 0,
      resumable: true,
      chunkSize: limits.chunkSize,
      metadata: sessionMetadata,
    });
    // After a failure the SDK may still report errors on its stream; they are already handled.
    sink.on("error", () => {});
    await pipeline(joinHead(head, body), sink, { signal: request.signal });
  } catch (err) {
    // Unless GCS confirms the cancellation, the last PUT may have completed the upload.
    if (!(await cancelSession(uri))) await deleteIfSessionCompleted(file, uri);
    throw err;
  }
}

/**
 * A resumable session fixes the object's metadata when it starts, before the body is known:
 * what only the end of the body revealed is patched onto the generation just created. The
 * generation precondition keeps the patch off an object another writer put there meanwhile;
 * if the patch fails, the caller deletes that generation, so no half-described object stays.
 */
async function patchFinalMetadata(file: File, metadata: Metadata): Promise<void> {
  const generation = file.metadata?.generation;
  if (generation === undefined || generation === null || generation === "") {
    throw new StorageError("Internal", "GCS did not report the new object's generation.", {
      operation: "write",
    });
  }
  const created = file.metadata;
  try {
    // The PATCH merges custom metadata key by key; the start keys are all in `metadata` too.
    await file.setMetadata({ metadata }, { ifGenerationMatch: generation });
  } catch (err) {
    // The SDK replaces `file.metadata` with the failed answer: restore the description of
    // the generation created, which the caller's cleanup deletes by.
    file.metadata = created;
    throw err;
  }
}

/**
 * The read-ahead bytes followed by the rest of the body, as one stream. A pass-through
 * rather than a generator: tearing it down on abort must not wait for a body that stalls.
 */
function joinHead(head: BodyHead, body: Readable): PassThrough {
  const joined = new PassThrough();
  for (const chunk of head.chunks.splice(0)) joined.write(chunk);
  body.on("error", (err) => joined.destroy(err));
  body.pipe(joined);
  return joined;
}

/**
 * A DELETE on the session URI cancels a resumable upload (GCS answers 499). The session URI
 * is its own credential, so no auth header is needed. Resolves true once GCS confirms the
 * cancellation: from then on no request can complete the upload. Best effort: if GCS cannot
 * be reached the session holds no object and expires by itself after a week.
 */
async function cancelSession(uri: string): Promise<boolean> {
  try {
    const res = await fetch(uri, {
      method: "DELETE",
      headers: { "content-length": "0" },
      signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.status === 499;
  } catch {
    // Nothing more can be done; the failure that brought us here is what the caller sees.
    return true;
  }
}

/**
 * Asks a session that would not cancel how it ended (a status query: an empty PUT whose
 * Content-Range names no bytes of an unknown total). 200 or 201 mean its last request completed the upload while
 * the write was being given up, though the SDK never reported it: that generation is
 * deleted, so no object outlives the abort.
 */
async function deleteIfSessionCompleted(file: File, uri: string): Promise<void> {
  try {
    const res = await fetch(uri, {
      method: "PUT",
      headers: { "content-length": "0", "content-range": "bytes */*" },
      signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS),
    });
    if (res.status !== 200 && res.status !== 201) {
      await res.body?.cancel();
      return;
    }
    const { generation } = (await res.json()) as { generation?: string };
    if (generation) await file.delete({ ifGenerationMatch: generation }).catch(() => undefined);
  } catch {
    // As above: best effort, the write's own failure is what the caller sees.
  }
}

/**
 * The SDK's single-request save takes no abort signal. On abort, give the request
 * `graceMs` to answer: what it stored is then known (the SDK records the generation on the
 * file) and the caller's clean-up removes it before the write rejects, so nothing lands
 * after the clean-up. A GCS that stays silent past the grace (a stall, found by the
 * gateway's fault-injection suite) is not waited for: the write rejects, and `undo` runs
 * should the request ever complete.
 */
async function settleAfterAbort<T>(
  work: Promise<T>,
  signal: AbortSignal,
  graceMs: number,
  undo: () => Promise<void>,
): Promise<T> {
  const outcome = work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  let onAbort = () => {};
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const first = await Promise.race([outcome, aborted]);
  signal.removeEventListener("abort", onAbort);
  if (first !== "aborted") {
    if (first.ok) return first.value;
    throw first.error;
  }
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), graceMs);
  });
  const settled = await Promise.race([outcome, graceOver]);
  clearTimeout(timer);
  // Settled in time: the caller's clean-up removes what it made, before the write rejects.
  if (settled === "late") void outcome.then((late) => (late.ok ? undo() : undefined));
  throw signal.reason;
}

/** The SDK records the created object's metadata on `file`; if it did, remove that generation. */
async function deleteIfCompleted(file: File): Promise<void> {
  const generation = file.metadata?.generation;
  if (generation === undefined || generation === null || generation === "") return;
  await file.delete({ ifGenerationMatch: generation }).catch(() => undefined);
}
