import type { Bucket } from "@google-cloud/storage";
import type { ResolvedRange } from "@mediagate/core";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { NativeCrc32c } from "./crc32c.ts";

/** A failed media request, shaped like the SDK's errors (`code` = HTTP status) for classifying. */
export class MediaRequestError extends Error {
  override readonly name = "MediaRequestError";
  readonly code: number;

  constructor(status: number, message: string) {
    super(message);
    this.code = status;
  }
}

export interface MediaRequest {
  name: string;
  /** The generation whose bytes to send: a replaced object fails with 404, never mixes. */
  generation: string | undefined;
  range: ResolvedRange | undefined;
  signal: AbortSignal | undefined;
}

/** `{"error":{"message":…}}`, or the raw text, for the error message. */
function errorMessage(status: number, text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === "string") return message;
  } catch {
    // Not the JSON API's error body.
  }
  return text.trim().slice(0, 200) || `HTTP ${status}`;
}

/**
 * Fetches an object's bytes (`alt=media`) with its own HTTP request instead of the SDK's
 * `createReadStream`: that one, when its consumer stops early (a player seeking, a 304),
 * destroys the keep-alive agent every other request shares, and throws from an event
 * handler if stopped before the response arrives. Here, stopping a download aborts only
 * that request. The status arrives before this resolves, so a 403 or 404 rejects the read
 * itself, and a whole-object read is checked against the CRC32C GCS reports.
 */
export async function openMedia(bucket: Bucket, request: MediaRequest): Promise<Readable> {
  const storage = bucket.storage;
  const url = new URL(
    `${storage.baseUrl}/b/${encodeURIComponent(bucket.name)}/o/${encodeURIComponent(request.name)}`,
  );
  url.searchParams.set("alt", "media");
  if (request.generation) url.searchParams.set("generation", request.generation);
  // identity: fetch would otherwise decompress gzip-stored objects and break ranges and sizes.
  const headers = new Headers({ "accept-encoding": "identity" });
  if (request.range) headers.set("range", `bytes=${request.range.start}-${request.range.end}`);
  // The SDK sends no credentials to a custom endpoint (an emulator) unless told to.
  if (!storage.customEndpoint || storage.useAuthWithCustomEndpoint) {
    for (const [name, value] of await storage.authClient.getRequestHeaders(url.href))
      headers.set(name, value);
  }

  const controller = new AbortController();
  const onAbort = () => controller.abort(request.signal?.reason);
  request.signal?.addEventListener("abort", onAbort, { once: true });
  const release = () => request.signal?.removeEventListener("abort", onAbort);
  let response: Response;
  try {
    request.signal?.throwIfAborted();
    response = await fetch(url, { headers, signal: controller.signal });
  } catch (err) {
    release();
    throw err;
  }
  const expected = request.range ? 206 : 200;
  if (response.status !== expected || !response.body) {
    release();
    const text = await response.text().catch(() => "");
    throw new MediaRequestError(
      response.status,
      response.ok
        ? `expected HTTP ${expected} for ${request.range ? "a range" : "the object"}, got ${response.status}`
        : errorMessage(response.status, text),
    );
  }

  let body: Readable = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  const crc32c = /(?:^|,)\s*crc32c=([^,\s]+)/.exec(response.headers.get("x-goog-hash") ?? "")?.[1];
  const stored = response.headers.get("x-goog-stored-content-encoding");
  if (!request.range && crc32c && (stored === null || stored === "identity")) {
    const checked = new Crc32cCheck(crc32c);
    body.on("error", (err) => checked.destroy(err));
    body = body.pipe(checked);
  }
  body.once("close", () => {
    release();
    // A consumer that stops early ends the request, and only this one.
    if (!body.readableEnded) controller.abort();
  });
  return body;
}

/** Passes bytes through and fails at the end unless they match the CRC32C GCS reported. */
class Crc32cCheck extends Transform {
  private readonly crc = new NativeCrc32c();
  private readonly expected: string;

  constructor(expected: string) {
    super();
    this.expected = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.crc.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.crc.validate(this.expected)) done();
    else
      done(
        new Error(
          `The download's CRC32C ${this.crc.toString()} does not match the stored object's ${this.expected}.`,
        ),
      );
  }
}
