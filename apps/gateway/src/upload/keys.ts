import { randomBytes } from "node:crypto";

/**
 * Object keys are generated here, never taken from the client:
 *
 *   2026/11/25/3f9c…(40 hex digits = 160 random bits).jpg
 *
 * The date keeps a bucket browsable and lets operators write lifecycle rules by prefix; the
 * random part makes one download URL impossible to derive from another. Hex rather than
 * base64 so keys stay distinct on case-insensitive filesystems.
 */
const RANDOM_BYTES = 20;
const KEY_PATTERN = /^\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{40}(\.[a-z0-9]{1,10})?$/;

/** A short, safe extension from the client's file name, or "" when it has none. */
export function safeExtension(originalName: string | undefined): string {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(originalName ?? "");
  return match ? `.${match[1]?.toLowerCase()}` : "";
}

export function newObjectKey(originalName: string | undefined, now = new Date()): string {
  const date = now.toISOString().slice(0, 10).replaceAll("-", "/");
  return `${date}/${randomBytes(RANDOM_BYTES).toString("hex")}${safeExtension(originalName)}`;
}

/**
 * Whether a download path names a key this gateway could have generated. Anything else is
 * answered 404 without asking the backend, so no path trick ever reaches storage.
 */
export function isObjectKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}
