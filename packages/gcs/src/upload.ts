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
 * (destroying the SDK's stream does not end a PUT already in flight), and an object that
 * was completed anyway, because the abort raced the last request, is deleted again.
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
      await unlessAbortedFirst(
        file.save(Buffer.concat(head.chunks, head.bytes), { resumable: false, metadata }),
        request.signal,
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
    await cancelSession(uri);
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
 * is its own credential, so no auth header is needed. Best effort: if GCS cannot be reached
 * the session holds no object and expires by itself after a week.
 */
async function cancelSession(uri: string): Promise<void> {
  try {
    const res = await fetch(uri, {
      method: "DELETE",
      headers: { "content-length": "0" },
      signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS),
    });
    await res.body?.cancel();
  } catch {
    // Nothing more can be done; the failure that brought us here is what the caller sees.
  }
}

/**
 * The SDK's single-request save takes no abort signal, so against a stalled GCS it would wait
 * as long as the socket lives (found by the gateway's fault-injection suite). On abort, stop
 * waiting at once; should the request complete after all, `undo` removes what it created.
 */
function unlessAbortedFirst<T>(
  work: Promise<T>,
  signal: AbortSignal,
  undo: () => Promise<void>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      work.then(undo, () => undefined);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** The SDK records the created object's metadata on `file`; if it did, remove that generation. */
async function deleteIfCompleted(file: File): Promise<void> {
  const generation = file.metadata?.generation;
  if (generation === undefined || generation === null || generation === "") return;
  await file.delete({ ifGenerationMatch: generation }).catch(() => undefined);
}
