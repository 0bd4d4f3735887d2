import { encodeMetadataValue, MAX_METADATA_BYTES, type Metadata } from "@mediagate/core";
import type { UploadFields } from "./fields.ts";

const MAX_NAME_CHARS = 255;

/**
 * Control characters, and invisible formatting ones: bidirectional overrides (U+202E makes
 * `invoice\u202Egpj.exe` display as "invoiceexe.jpg"), zero-width characters, line and
 * paragraph separators (Unicode Cc, Cf, Zl, Zp).
 */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * The client's file name as something safe to keep and to send back in a header: no folder
 * part, no control or invisible formatting characters, NFC, at most 255 characters.
 */
export function cleanFileName(original: string | undefined): string {
  const base = (original ?? "").split(/[/\\]/).pop() ?? "";
  const clean = base.normalize("NFC").replace(UNSAFE_CHARACTERS, "").trim();
  return [...clean].slice(0, MAX_NAME_CHARS).join("");
}

const encodedBytes = (metadata: Metadata) =>
  Object.entries(metadata).reduce((n, [k, v]) => n + k.length + encodeMetadataValue(v).length, 0);

/** What the bytes turned out to be; known once the file has streamed through. */
export interface FileContent {
  size: number;
  sha256: string;
}

/**
 * Room kept for what is added later: a 16-digit size (2^53) and a hex SHA-256, a stripping
 * report and an encryption envelope (each well under its reserve).
 */
const CONTENT_ROOM: Metadata = {
  size: "9".repeat(16),
  sha256: "0".repeat(64),
  stripped: "x".repeat(160),
  enc: "x".repeat(256),
};

/**
 * Object metadata for an upload, part one: what the client said (uid, mid, source, file
 * name), known before the first byte. A long file name is shortened so this and
 * `contentMetadata` together always fit the limit every backend shares.
 */
export function objectMetadata(fields: UploadFields, originalName: string | undefined): Metadata {
  const metadata: Metadata = {
    ...(fields.uid !== undefined && { uid: fields.uid }),
    mid: fields.mid,
    source: fields.source,
  };
  let chars = [...cleanFileName(originalName)];
  while (
    chars.length > 0 &&
    encodedBytes({ ...metadata, ...CONTENT_ROOM, filename: chars.join("") }) > MAX_METADATA_BYTES
  ) {
    chars = chars.slice(0, Math.floor(chars.length * 0.9));
  }
  if (chars.length > 0) metadata.filename = chars.join("");
  return metadata;
}

/**
 * Part two: size and SHA-256 of the bytes. Streamed uploads hand it to the adapter as
 * `finalMetadata` (known only at the end of the body), spooled ones up front: either way
 * every object carries the same keys.
 */
export function contentMetadata(content: FileContent): Metadata {
  return { size: String(content.size), sha256: content.sha256 };
}
