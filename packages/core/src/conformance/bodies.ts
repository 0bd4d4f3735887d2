import { createHash } from "node:crypto";
import { PassThrough, Readable } from "node:stream";

/** A non-object-mode stream carrying `bytes`, like an HTTP request body would. */
export function streamOf(bytes: Buffer | string): Readable {
  const stream = new PassThrough();
  stream.end(typeof bytes === "string" ? Buffer.from(bytes) : bytes);
  return stream;
}

/**
 * Byte `i` of the deterministic test pattern. A multiplicative hash rather than `i % 256`
 * so a backend that shuffles, drops or repeats a whole part cannot produce the same bytes.
 */
export function patternByte(i: number): number {
  return (Math.imul(i ^ (i >>> 13), 0x9e3779b1) >>> 24) & 0xff;
}

/** Bytes `start`..`end` (inclusive) of the pattern, for comparing ranged reads. */
export function patternSlice(start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start + 1);
  for (let i = start; i <= end; i++) out[i - start] = patternByte(i);
  return out;
}

export interface PatternBody {
  stream: Readable;
  /** Resolves with the sha256 (hex) of everything produced, once the stream has ended. */
  sha256: Promise<string>;
}

/**
 * `size` pattern bytes generated chunk by chunk on demand, so a large body never exists in
 * memory as a whole — the suite holds itself to the bounded-memory rule it checks.
 */
export function patternBody(size: number, chunkBytes = 64 * 1024): PatternBody {
  const hash = createHash("sha256");
  let offset = 0;
  let settle!: (digest: string) => void;
  const sha256 = new Promise<string>((resolve) => (settle = resolve));
  const stream = new Readable({
    read() {
      if (offset >= size) {
        settle(hash.digest("hex"));
        this.push(null);
        return;
      }
      const end = Math.min(size, offset + chunkBytes) - 1;
      const chunk = patternSlice(offset, end);
      offset = end + 1;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256 };
}

/** sha256 (hex) and length of a stream, consumed chunk by chunk. */
export async function digestStream(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** Whole stream as one buffer: only for the small objects the suite writes. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

export interface ControlledBody {
  stream: Readable;
  /** Resolves once the consumer has taken every byte produced so far and asks for more. */
  drained: Promise<void>;
  /** Whether the consumer ever asked the body for data. */
  readonly touched: boolean;
}

/**
 * Produces `size` pattern bytes, then stalls forever (never ends) — the shape of a client
 * whose connection hangs mid-upload. `drained` tells the test the adapter has really been
 * streaming, so an abort lands mid-write rather than before it started.
 */
export function stallingBody(size: number, chunkBytes = 64 * 1024): ControlledBody {
  let offset = 0;
  let touched = false;
  let markDrained!: () => void;
  const drained = new Promise<void>((resolve) => (markDrained = resolve));
  const stream = new Readable({
    read() {
      touched = true;
      if (offset >= size) {
        markDrained();
        return;
      }
      const end = Math.min(size, offset + chunkBytes) - 1;
      this.push(patternSlice(offset, end));
      offset = end + 1;
    },
  });
  return {
    stream,
    drained,
    get touched() {
      return touched;
    },
  };
}

/** Produces `size` bytes, then fails with `error` once the consumer has taken them. */
export function failingBody(size: number, error: Error): ControlledBody {
  const body = stallingBody(size);
  void body.drained.then(() => body.stream.destroy(error));
  return body;
}

/** A body that must never be read: argument checks have to fail before any I/O. */
export function untouchableBody(): ControlledBody {
  return stallingBody(1024);
}
