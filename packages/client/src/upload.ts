import { RETRYABLE_STATUSES, UploadError } from "./errors.ts";
import { encodeForm, randomMid, type EncodedForm } from "./form.ts";
import { rethrowLater } from "./later.ts";
import type { UploadOptions, UploadProgress, UploadResult } from "./options.ts";
import { backoffDelay, parseRetryAfter, retryPolicy, sleep } from "./retry.ts";
import {
  NoAnswer,
  sendBlob,
  sendStreamed,
  sendXhr,
  type Answer,
  type SendOptions,
} from "./transport.ts";

type Sender = (url: string, form: EncodedForm, options: SendOptions) => Promise<Answer>;

/**
 * Uploads one file to a mediagate gateway the way mesibo does (a multipart form: op, auth,
 * uid, mid, source, then the file) and resolves with the download URL it answered. Network
 * failures, 429 and 502/503/504 are retried with jittered exponential back-off (Retry-After
 * honoured); every other refusal rejects at once. Rejects only with UploadError.
 */
export async function upload(file: Blob, options: UploadOptions): Promise<UploadResult> {
  const url = checkedUrl(options);
  if (!isBlob(file)) throw invalid("upload() needs a Blob or File to send.");
  if (options.token === undefined && options.getToken === undefined)
    throw invalid("Give a token or a getToken function.");
  const policy = checkedPolicy(options);
  const send = chooseSender(options);
  const signal = options.signal ?? new AbortController().signal;
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  // One mid for every attempt: the retries are the same message's file.
  const mid = options.mid ?? randomMid();
  const fileName = options.fileName ?? nameOf(file) ?? "blob";
  const started = Date.now();

  for (let attempt = 1; ; attempt++) {
    let error: UploadError;
    try {
      const token = await tokenFor(options, attempt, signal);
      const fields = { auth: token, uid: options.uid, mid, source: options.source };
      for (const [name, value] of Object.entries(fields)) {
        if (value !== undefined && /[\r\n]/.test(String(value)))
          throw invalid(`${name} must not contain line breaks.`);
      }
      const form = encodeForm(fields, file, fileName, options.fileField ?? "file");
      const progress = progressReporter(options.onProgress, attempt);
      const answer = await sendOnce(
        send,
        url,
        form,
        { signal, fetch: fetchImpl, onProgress: progress.report },
        attempt,
      );
      const result = resultOf(answer, attempt);
      progress.finish(form.body.size);
      return result;
    } catch (err) {
      if (!(err instanceof UploadError)) throw err;
      error = err;
    }
    if (!error.retryable || attempt >= policy.attempts) throw error;
    const delayMs = backoffDelay(attempt, policy, error.retryAfterMs);
    if (Date.now() - started + delayMs > policy.maxElapsedMs) throw error;
    rethrowLater(() => options.onRetry?.({ attempt: attempt + 1, delayMs, error }));
    try {
      await sleep(delayMs, signal);
    } catch (reason) {
      throw aborted(attempt, reason);
    }
  }
}

function checkedUrl(options: UploadOptions): string {
  if (typeof options?.url !== "string" || options.url === "")
    throw invalid("Give the gateway's upload URL as options.url.");
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(options.url, base);
  } catch (err) {
    throw invalid(`Not a usable URL: ${options.url}`, err);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw invalid(`The gateway's URL must be http(s): ${options.url}`);
  return url.href;
}

function checkedPolicy(options: UploadOptions) {
  try {
    return retryPolicy(options.retry);
  } catch (err) {
    throw invalid(err instanceof Error ? err.message : String(err), err);
  }
}

function chooseSender(options: UploadOptions): Sender {
  const hasXhr = typeof XMLHttpRequest === "function";
  const transport = options.transport ?? "auto";
  if (transport === "xhr") {
    if (!hasXhr) throw invalid('transport "xhr" needs XMLHttpRequest, which this runtime lacks.');
    return sendXhr;
  }
  if (transport === "auto" && hasXhr && options.onProgress) return sendXhr;
  // Streamed bodies count progress, but browsers send them over HTTP/2 only.
  if (options.onProgress && isNode()) return sendStreamed;
  return sendBlob;
}

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof process?.versions?.node === "string";
}

async function tokenFor(options: UploadOptions, attempt: number, signal: AbortSignal) {
  if (signal.aborted) throw aborted(attempt, signal.reason);
  if (!options.getToken) return checkedToken(options.token, attempt);
  let token: unknown;
  try {
    token = await options.getToken({ attempt, signal });
  } catch (err) {
    if (signal.aborted) throw aborted(attempt, signal.reason);
    throw new UploadError("TOKEN_UNAVAILABLE", "getToken() failed.", { attempt, cause: err });
  }
  if (signal.aborted) throw aborted(attempt, signal.reason);
  return checkedToken(token, attempt);
}

function checkedToken(token: unknown, attempt: number): string {
  if (typeof token === "string" && token !== "") return token;
  throw new UploadError("TOKEN_UNAVAILABLE", "No upload token: expected a non-empty string.", {
    attempt,
  });
}

async function sendOnce(
  send: Sender,
  url: string,
  form: EncodedForm,
  options: SendOptions,
  attempt: number,
): Promise<Answer> {
  try {
    return await send(url, form, options);
  } catch (err) {
    if (!(err instanceof NoAnswer)) throw err;
    if (err.aborted || options.signal.aborted) throw aborted(attempt, options.signal.reason);
    throw new UploadError("NETWORK_ERROR", "The gateway could not be reached.", {
      retryable: true,
      attempt,
      cause: err.cause,
    });
  }
}

/** Turns an answer into the download URL, or into the UploadError it stands for. */
function resultOf(answer: Answer, attempt: number): UploadResult {
  const body = parseJson(answer.text);
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const url = body?.url;
    if (body?.result === true && typeof url === "string" && /^https?:\/\//i.test(url))
      return { url };
    throw new UploadError("BAD_RESPONSE", "The gateway's answer has no download URL.", {
      status,
      attempt,
    });
  }
  const retryable = RETRYABLE_STATUSES.has(status);
  const retryAfterMs = parseRetryAfter(answer.retryAfter);
  const error = body?.error as { code?: unknown; message?: unknown } | undefined;
  if (body?.result === false && typeof error?.code === "string") {
    const message = typeof error.message === "string" ? error.message : error.code;
    return throwError(error.code, message);
  }
  return throwError("HTTP_ERROR", `The upload was answered with HTTP ${status}.`);

  function throwError(code: string, message: string): never {
    throw new UploadError(code, message, { status, retryable, retryAfterMs, attempt });
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps progress monotonic within an attempt and makes a success end at loaded === total. */
function progressReporter(onProgress: UploadOptions["onProgress"], attempt: number) {
  let last = -1;
  const emit = (progress: UploadProgress) => rethrowLater(() => onProgress?.(progress));
  return {
    report: onProgress
      ? (loaded: number, total: number) => {
          if (loaded <= last) return;
          last = loaded;
          emit({ loaded, total, attempt });
        }
      : undefined,
    finish(total: number) {
      if (onProgress && last < total) emit({ loaded: total, total, attempt });
    },
  };
}

function aborted(attempt: number, reason: unknown): UploadError {
  return new UploadError("ABORTED", "The upload was aborted.", { attempt, cause: reason });
}

function invalid(message: string, cause?: unknown): UploadError {
  return new UploadError("INVALID_ARGUMENT", message, { cause });
}

/** Duck-typed too, so a Blob from another realm (an iframe) is still one. */
export function isBlob(value: unknown): value is Blob {
  if (typeof Blob !== "undefined" && value instanceof Blob) return true;
  const blob = value as Partial<Blob> | null;
  return (
    typeof blob === "object" &&
    blob !== null &&
    typeof blob.size === "number" &&
    typeof blob.slice === "function" &&
    typeof blob.stream === "function"
  );
}

function nameOf(file: Blob): string | undefined {
  const name = (file as Partial<File>).name;
  return typeof name === "string" && name !== "" ? name : undefined;
}
