import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";

export type Part =
  | { name: string; value: string }
  | { name: string; filename: string; type?: string; body: Buffer | string | Readable };

export interface MultipartBody {
  contentType: string;
  boundary: string;
  /** The encoded body, produced part by part: a file part's stream is never buffered. */
  stream: Readable;
}

const quote = (value: string) =>
  value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");

/** Part headers and separator, exactly as browsers and mesibo's SDKs write them. */
export function partHead(boundary: string, part: Part): Buffer {
  const disposition =
    "filename" in part
      ? `form-data; name="${quote(part.name)}"; filename="${quote(part.filename)}"`
      : `form-data; name="${quote(part.name)}"`;
  const type =
    "filename" in part ? `Content-Type: ${part.type ?? "application/octet-stream"}\r\n` : "";
  return Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`, "utf8");
}

export const closing = (boundary: string) => Buffer.from(`--${boundary}--\r\n`);

/** A streaming multipart/form-data body in the order given (so file-before-fields is easy). */
export function multipart(
  parts: Part[],
  boundary = `----mediagate${randomBytes(12).toString("hex")}`,
): MultipartBody {
  async function* generate() {
    for (const part of parts) {
      yield partHead(boundary, part);
      if ("value" in part) yield Buffer.from(part.value, "utf8");
      else if (part.body instanceof Readable) yield* part.body;
      else yield Buffer.from(part.body);
      yield Buffer.from("\r\n");
    }
    yield closing(boundary);
  }
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    boundary,
    stream: Readable.from(generate(), { objectMode: false }),
  };
}
