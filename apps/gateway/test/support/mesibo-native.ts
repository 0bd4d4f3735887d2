import { randomBytes } from "node:crypto";

/**
 * Upload bodies byte for byte as mesibo's native client library builds them (its form
 * encoder and the sample file-transfer handlers, 2021–2023; see DESIGN.md):
 * - every field value percent-encoded: letters, digits and `-._~!*()` stay, a space becomes
 *   `+`, every other byte `%XX` (upper-case hex);
 * - fields first, in the order given, then the file part;
 * - the file part typed `application/octet-stream`, with `Content-Transfer-Encoding: binary`
 *   and a `Content-length` part header, and named `noname` when the path has no `/`.
 */
export function nativeEncode(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~!*()]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export interface NativeUpload {
  /** Field name → raw value; encoded on the wire. */
  fields: [string, string][];
  /** The file's part name: `file` by default, `photo` in mesibo's samples. */
  fileField?: string;
  /** The file's path on the phone; without a `/` the encoder sends `noname`. */
  path?: string;
  body: Buffer;
}

export function nativeBody(upload: NativeUpload): { contentType: string; body: Buffer } {
  const boundary = `mesibo${randomBytes(8).toString("hex")}`;
  const parts: Buffer[] = [];
  for (const [name, value] of upload.fields) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${nativeEncode(value)}\r\n`,
      ),
    );
  }
  const path = upload.path ?? "noname";
  const filename = path.includes("/") ? path.slice(path.lastIndexOf("/") + 1) : "noname";
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${upload.fileField ?? "file"}"; filename="${filename}"\r\n` +
        "Content-Type: application/octet-stream\r\n" +
        "Content-Transfer-Encoding: binary\r\n" +
        `Content-length: ${upload.body.length}\r\n\r\n`,
    ),
    upload.body,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}
