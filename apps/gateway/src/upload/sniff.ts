import { PassThrough, type Readable } from "node:stream";
import { fileTypeFromBuffer, supportedMimeTypes } from "file-type";
import { StorageError, type StorageAdapter } from "@mediagate/core";
import { HttpError } from "../http/errors.ts";
import { isAllowedType, normalizeContentType } from "./content-type.ts";

/** What file-type needs to recognise every format it knows; the rest of a file stays unread. */
export const SNIFF_BYTES = 4100;

/** Binary media always starts with a signature; one of these without it is not what it says. */
const SIGNED_FAMILIES = /^(image|video|audio)\//;

/** What the first bytes say a file is, when they match a signature file-type knows. */
export interface DetectedType {
  mime: string;
  ext: string;
}

/** The stored type, and the type the bytes showed (for the key's extension). */
export interface TypeDecision {
  contentType: string;
  detected: DetectedType | undefined;
}

/**
 * The content type to store for a file whose first bytes are `head`, or a 415 HttpError to
 * refuse it. The bytes decide, not the client: a recognised signature is the type. When the
 * bytes match no known signature, the declared type stands only under no ALLOWED_TYPES policy,
 * or when it names a text-like type that has no signature to check (text/plain, JSON…); a
 * file declared as an image, video, audio or another recognisable format that does not carry
 * its signature is refused under a policy.
 */
export async function decideContentType(
  head: Buffer,
  declared: string | undefined,
  allowed: readonly string[] | undefined,
): Promise<TypeDecision | HttpError> {
  const detected = await detect(head);
  if (detected) {
    return isAllowedType(detected.mime, allowed)
      ? { contentType: detected.mime, detected }
      : unsupportedType(detected.mime);
  }
  const type = normalizeContentType(declared);
  if (!allowed) return { contentType: type, detected: undefined };
  const bare = type.split(";")[0] ?? type;
  if (supportedMimeTypes.has(bare) || SIGNED_FAMILIES.test(bare)) {
    return new HttpError(
      "UNSUPPORTED_MEDIA_TYPE",
      `The file is declared as ${bare} but its content is not; the upload was refused.`,
    );
  }
  return isAllowedType(type, allowed)
    ? { contentType: type, detected: undefined }
    : unsupportedType(type);
}

export function unsupportedType(type: string): HttpError {
  return new HttpError("UNSUPPORTED_MEDIA_TYPE", `Files of type ${type} are not accepted here.`);
}

async function detect(head: Buffer): Promise<DetectedType | undefined> {
  if (head.length === 0) return undefined;
  try {
    const found = await fileTypeFromBuffer(head);
    return found && { mime: found.mime, ext: found.ext };
  } catch {
    // A malformed header is just an unrecognised one: the policy then applies as such.
    return undefined;
  }
}

/**
 * Reads up to `size` bytes from the start of a part's stream without consuming them: they
 * are put back (`unshift`) so the part streams on whole. Resolves with the bytes and the
 * stream to read from: the same one, or, when the part ended within the peek (its 'end' has
 * fired and nothing can be put back), a fresh stream of those bytes.
 */
export function peekStream(
  stream: Readable,
  signal?: AbortSignal,
  size = SNIFF_BYTES,
): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) {
      return reject(new StorageError("Aborted", "The file part ended before it could be checked."));
    }
    if (signal?.aborted) return reject(signal.reason as Error);
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = () => {
      signal?.removeEventListener("abort", onAbort);
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (length < size && (chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        length += chunk.length;
      }
      if (length < size) return;
      cleanup();
      const head = Buffer.concat(chunks);
      stream.unshift(head);
      resolve({ head: head.subarray(0, size), stream });
    };
    const onEnd = () => {
      cleanup();
      const head = Buffer.concat(chunks);
      const whole = Object.assign(new PassThrough().end(head), {
        truncated: (stream as Readable & { truncated?: boolean }).truncated,
      });
      resolve({ head, stream: whole });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new StorageError("Aborted", "The file part ended before it could be checked."));
    };
    // What has been read so far is not put back: the upload is over.
    const onAbort = () => {
      cleanup();
      reject(signal?.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("readable", onReadable);
    stream.once("end", onEnd);
    stream.once("error", onError);
    stream.once("close", onClose);
  });
}

/** The first bytes of a spooled part, read from the spool without reading the rest. */
export async function spooledHead(spool: StorageAdapter, key: string, size: number) {
  if (size === 0) return Buffer.alloc(0);
  const { body } = await spool.read(key, {
    range: { start: 0, end: Math.min(size, SNIFF_BYTES) - 1 },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
