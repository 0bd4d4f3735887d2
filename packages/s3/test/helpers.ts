import { createServer } from "node:net";
import { Readable } from "node:stream";
import { patternSlice } from "@mediagate/core/conformance";
import { startS3TestServer, type S3TestServer } from "@mediagate/test-servers";
import { S3Adapter, type S3AdapterOptions } from "../src/index.ts";

export const MiB = 1024 * 1024;
export const BUCKET = "mediagate-test";

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export function startServer(): Promise<S3TestServer> {
  return startS3TestServer({ buckets: [BUCKET] });
}

/** An adapter talking to the test server through its recording proxy. */
export function adapterFor(
  server: S3TestServer,
  options: Partial<S3AdapterOptions> = {},
): S3Adapter {
  return new S3Adapter({
    bucket: BUCKET,
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { ...server.credentials },
    partSize: 5 * MiB,
    ...options,
  });
}

/** Open multipart uploads (only those for `key` when given), as readable strings. */
export async function openUploads(
  server: S3TestServer,
  key?: string,
  bucket = BUCKET,
): Promise<string[]> {
  const uploads = await server.openUploads(bucket);
  return uploads
    .filter((u) => key === undefined || u.key === key)
    .map(
      (u) =>
        `open multipart upload ${u.uploadId} for ${u.key === undefined ? "(no key: debris)" : JSON.stringify(u.key)}`,
    );
}

export interface MeteredBody {
  stream: Readable;
  /** Bytes handed to the consumer so far. */
  readonly produced: number;
  /** Lift the stall: produce the rest of the body. */
  release(): void;
  /** End the stream now, short of its size. */
  end(): void;
}

/**
 * `size` deterministic bytes made on demand (never all in memory), counting what the
 * consumer has pulled. With `stallAt` it stops producing there without ending, like a
 * client whose connection hangs, until `release()` or `end()`.
 */
export function meteredBody(size: number, options: { stallAt?: number } = {}): MeteredBody {
  const chunk = 64 * 1024;
  let produced = 0;
  let ended = false;
  let waiting = false;
  let limit = Math.min(size, options.stallAt ?? size);
  const produce = () => {
    waiting = false;
    if (ended) return;
    if (produced >= size) {
      ended = true;
      stream.push(null);
      return;
    }
    if (produced >= limit) {
      // Stalled: the next push happens on release().
      waiting = true;
      return;
    }
    const n = Math.min(chunk, limit - produced);
    stream.push(patternSlice(produced, produced + n - 1));
    produced += n;
  };
  const stream: Readable = new Readable({ read: produce });
  return {
    stream,
    get produced() {
      return produced;
    },
    release() {
      limit = size;
      if (waiting) produce();
    },
    end() {
      if (ended) return;
      ended = true;
      stream.push(null);
    },
  };
}
