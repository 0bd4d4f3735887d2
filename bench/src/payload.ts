import { createCipheriv, randomBytes } from "node:crypto";
import { Readable } from "node:stream";

/**
 * Every byte any benchmark sends comes from one 1 MiB pattern, repeated: pseudo-random (AES-CTR
 * keystream under a fixed key) so it is incompressible yet identical in every process, the
 * same bytes for every system under test, and produced without allocating per request, so a
 * 512 MiB body costs the sender no memory.
 */
const PATTERN = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0)).update(
  Buffer.alloc(1024 * 1024),
);
/** Chunk size pushed into streams; large enough that per-chunk overhead stays negligible. */
export const CHUNK_SIZE = 256 * 1024;

/** The payload's bytes from `offset` for up to `length` bytes, within one pattern period. */
function slice(offset: number, length: number): Buffer {
  const start = offset % PATTERN.length;
  return PATTERN.subarray(start, Math.min(PATTERN.length, start + length));
}

/**
 * A stream of `size` payload bytes, generated as it is read, optionally framed by a `head`
 * and a `tail` (a multipart preamble and epilogue).
 */
export function payloadStream(size: number, head?: Buffer, tail?: Buffer): Readable {
  let sent = 0;
  let headSent = head === undefined;
  return new Readable({
    highWaterMark: CHUNK_SIZE,
    read() {
      if (!headSent) {
        headSent = true;
        this.push(head);
        return;
      }
      if (sent >= size) {
        if (tail) this.push(tail);
        this.push(null);
        return;
      }
      const chunk = slice(sent, Math.min(CHUNK_SIZE, size - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

/** A multipart/form-data body whose file part is `size` payload bytes, generated on the fly. */
export interface MultipartBody {
  contentType: string;
  contentLength: number;
  stream(): Readable;
}

/**
 * The form a mesibo client posts: its fields first, then one file part. The boundary is
 * random and 48 characters long, so the random payload cannot contain it by accident.
 */
export function multipartBody(
  fields: Readonly<Record<string, string>>,
  file: { field: string; name: string; type: string; size: number },
): MultipartBody {
  const boundary = `----mediagate-bench-${randomBytes(14).toString("hex")}`;
  const head = Object.entries(fields)
    .map(
      ([name, value]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    )
    .join("");
  const preamble = Buffer.from(
    `${head}--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; ` +
      `filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`,
  );
  const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: preamble.length + file.size + epilogue.length,
    stream: () => payloadStream(file.size, preamble, epilogue),
  };
}
