import type { Readable } from "node:stream";

export interface BodyHead {
  chunks: Buffer[];
  bytes: number;
  /** True when the body ended within the limit: `chunks` is all of it. */
  ended: boolean;
}

/**
 * Reads from `body` until it has more than `limit` bytes or the body ends, leaving the rest
 * unread (the stream is paused, not consumed). Memory use is bounded by `limit` plus one
 * chunk. Rejects with the body's error, or the signal's reason once it aborts.
 */
export function readHead(body: Readable, limit: number, signal: AbortSignal): Promise<BodyHead> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  return new Promise<BodyHead>((resolve, reject) => {
    const cleanup = () => {
      body.off("readable", onReadable);
      body.off("end", onEnd);
      body.off("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const onReadable = () => {
      let chunk: unknown;
      while (bytes <= limit && (chunk = body.read()) !== null) {
        const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
        chunks.push(buffer);
        bytes += buffer.length;
      }
      if (bytes > limit) {
        cleanup();
        resolve({ chunks, bytes, ended: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, bytes, ended: true });
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(err);
    };
    const onAbort = () => {
      cleanup();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    if (body.readableEnded) return onEnd();
    if (body.errored) return onError(body.errored);
    body.on("readable", onReadable);
    body.once("end", onEnd);
    body.once("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
