import { UploadError } from "./errors.ts";
import type { MesiboId, UploadOptions, UploadProgress } from "./options.ts";
import { rethrowLater } from "./later.ts";
import { isBlob, upload } from "./upload.ts";

/** What mesibo's JavaScript API passes as the second argument of an upload handler. */
export type MesiboUploadCallback = (url: string | null) => void;
/** The function `Mesibo.setUploadHandler` takes. */
export type MesiboUploadHandler = (file: unknown, callback: MesiboUploadCallback) => void;

export interface MesiboUploadHandlerOptions extends Omit<
  UploadOptions,
  "mid" | "fileName" | "onProgress"
> {
  /** Per file, with what mesibo passed, so a UI can tell its uploads apart. */
  onProgress?: (progress: UploadProgress, file: unknown) => void;
  /** mesibo learns only `null` of a failure; this hears why. */
  onError?: (error: UploadError, file: unknown) => void;
}

/** The file mesibo handed over, and what it said about it. */
export interface MesiboFile {
  file: Blob;
  fileName?: string;
  uid?: MesiboId;
  mid?: MesiboId;
  source?: string | number;
}

/** Properties of mesibo's message/file objects that may hold the file itself. */
const FILE_PROPERTIES = ["file", "blob", "data", "content"] as const;
const DIGITS = /^\d{1,20}$/;

/**
 * Reads what mesibo passed to an upload handler: a File or Blob; a file input element or its
 * id (mesibo's samples give `msg.file` and `setImage` an element id); or a message/file
 * object carrying one of those under `file`, `blob`, `data` or `content`, with its own `mid`
 * (or `id`), `uid`, `source` and name. Undefined when no file can be found.
 */
export function readMesiboFile(value: unknown): MesiboFile | undefined {
  const direct = fileOf(value);
  if (direct) return { file: direct };
  if (typeof value !== "object" || value === null) return undefined;
  const object = value as Record<string, unknown>;
  let file: Blob | undefined;
  for (const property of FILE_PROPERTIES) {
    file = fileOf(object[property]);
    if (file) break;
  }
  if (!file) return undefined;
  const found: MesiboFile = { file };
  const mid = idOf(object.mid) ?? idOf(object.id);
  if (mid !== undefined) found.mid = mid;
  const uid = idOf(object.uid);
  if (uid !== undefined) found.uid = uid;
  const source = object.source;
  if ((typeof source === "number" && Number.isInteger(source) && source >= 0) || isWord(source))
    found.source = source;
  for (const key of ["fileName", "filename", "name"]) {
    const name = object[key];
    if (typeof name === "string" && name !== "") {
      found.fileName = name;
      break;
    }
  }
  return found;
}

/**
 * Returns the function to pass to `Mesibo.setUploadHandler`: it uploads each file mesibo
 * hands it and calls `callback(url)` on success or `callback(null)` on failure, exactly once,
 * never synchronously, and never throws into mesibo.
 */
export function mesiboUploadHandler(options: MesiboUploadHandlerOptions): MesiboUploadHandler {
  if (typeof options?.url !== "string" || options.url === "")
    throw new UploadError("INVALID_ARGUMENT", "Give the gateway's upload URL as options.url.");
  if (options.token === undefined && options.getToken === undefined)
    throw new UploadError("INVALID_ARGUMENT", "Give a token or a getToken function.");
  const { onError, onProgress, ...shared } = options;

  return (value: unknown, callback: MesiboUploadCallback) => {
    let settled = false;
    const settle = (url: string | null) => {
      if (settled) return;
      settled = true;
      if (typeof callback === "function") rethrowLater(() => callback(url));
    };
    const fail = (error: unknown) => {
      const failure =
        error instanceof UploadError
          ? error
          : new UploadError("INVALID_ARGUMENT", "The upload could not start.", { cause: error });
      rethrowLater(() => onError?.(failure, value));
      settle(null);
    };

    let found: MesiboFile | undefined;
    try {
      found = readMesiboFile(value);
    } catch (err) {
      void Promise.resolve(err).then(fail);
      return;
    }
    if (!found) {
      const error = new UploadError("INVALID_ARGUMENT", "mesibo passed no file to upload.");
      void Promise.resolve(error).then(fail);
      return;
    }
    const { file, fileName, uid, mid, source } = found;
    const request: UploadOptions = {
      ...shared,
      uid: uid ?? shared.uid,
      source: source ?? shared.source,
    };
    if (mid !== undefined) request.mid = mid;
    if (fileName !== undefined) request.fileName = fileName;
    if (onProgress) request.onProgress = (progress) => onProgress(progress, value);
    upload(file, request).then(
      (result) => settle(result.url),
      (err: unknown) => fail(err),
    );
  };
}

function fileOf(value: unknown): Blob | undefined {
  if (isBlob(value)) return value;
  if (typeof value === "string") {
    const document = (globalThis as { document?: { getElementById(id: string): unknown } })
      .document;
    return value !== "" && document ? fileOf(document.getElementById(value)) : undefined;
  }
  // A file input, or a FileList.
  const files = (value as { files?: unknown } | null)?.files ?? value;
  const first = (files as { length?: unknown; 0?: unknown } | null)?.[0];
  if (typeof (files as { length?: unknown } | null)?.length === "number" && isBlob(first))
    return first;
  return undefined;
}

function idOf(value: unknown): MesiboId | undefined {
  if (typeof value === "bigint" && value > 0n) return value;
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === "string" && DIGITS.test(value) && !/^0+$/.test(value)) return value;
  return undefined;
}

function isWord(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{1,32}$/.test(value);
}
