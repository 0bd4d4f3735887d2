import { encodeMetadataValue, MAX_METADATA_BYTES, type Metadata } from "@mediagate/core";
import type { UploadFields } from "./fields.ts";

const MAX_NAME_CHARS = 255;

/**
 * The client's file name as something safe to keep and to send back in a header: no folder
 * part, no control characters, NFC, at most 255 characters.
 */
export function cleanFileName(original: string | undefined): string {
  const base = (original ?? "").split(/[/\\]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const controls = /[\u0000-\u001f\u007f-\u009f]/g;
  const clean = base.normalize("NFC").replace(controls, "").trim();
  return [...clean].slice(0, MAX_NAME_CHARS).join("");
}

const encodedBytes = (metadata: Metadata) =>
  Object.entries(metadata).reduce((n, [k, v]) => n + k.length + encodeMetadataValue(v).length, 0);

/**
 * Object metadata for an upload: what the client said (uid, mid, source, file name) and,
 * when known before the write starts, the size and SHA-256 of the bytes. A long file name is
 * shortened so the whole set fits the limit every backend shares.
 */
export function objectMetadata(
  fields: UploadFields,
  originalName: string | undefined,
  content?: { size: number; sha256: string },
): Metadata {
  const metadata: Metadata = { uid: fields.uid, mid: fields.mid, source: fields.source };
  if (content) {
    metadata.size = String(content.size);
    metadata.sha256 = content.sha256;
  }
  let chars = [...cleanFileName(originalName)];
  while (
    chars.length > 0 &&
    encodedBytes({ ...metadata, filename: chars.join("") }) > MAX_METADATA_BYTES
  ) {
    chars = chars.slice(0, Math.floor(chars.length * 0.9));
  }
  if (chars.length > 0) metadata.filename = chars.join("");
  return metadata;
}
