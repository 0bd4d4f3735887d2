import type { MesiboId } from "./options.ts";

export interface FormFields {
  auth: string;
  uid?: MesiboId | undefined;
  mid: MesiboId;
  source?: string | number | undefined;
}

export interface EncodedForm {
  /** The whole multipart body; the file part refers to the caller's Blob, nothing is copied. */
  body: Blob;
  contentType: string;
}

/**
 * Builds the multipart body by hand rather than with FormData: the fields must come before
 * the file (the gateway then streams the file straight into storage), its exact size is the
 * progress total everywhere, and a Blob body goes through fetch and XHR alike without the
 * HTTP/2-only streaming uploads browsers impose on ReadableStream bodies.
 */
export function encodeForm(fields: FormFields, file: Blob, fileName: string, fileField: string) {
  const boundary = `----mediagate${randomHex(16)}`;
  const parts: (string | Blob)[] = [];
  const field = (name: string, value: string) =>
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    );
  field("op", "upload");
  field("auth", fields.auth);
  if (fields.uid !== undefined) field("uid", String(fields.uid));
  field("mid", String(fields.mid));
  if (fields.source !== undefined) field("source", String(fields.source));
  const type = file.type || "application/octet-stream";
  parts.push(
    `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(fileField)}"; ` +
      `filename="${escapeName(fileName)}"\r\nContent-Type: ${type}\r\n\r\n`,
    file,
    `\r\n--${boundary}--\r\n`,
  );
  // Strings become UTF-8, as browsers encode form fields.
  return { body: new Blob(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** As the HTML standard encodes names in multipart/form-data. */
function escapeName(name: string): string {
  return name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function randomHex(bytes: number): string {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A random unsigned 32-bit message id, the kind mesibo assigns to new messages. */
export function randomMid(): string {
  const [value = 0] = crypto.getRandomValues(new Uint32Array(1));
  // Zero is no id at all in mesibo.
  return String(value || 1);
}
