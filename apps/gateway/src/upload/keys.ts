import { randomBytes } from "node:crypto";

/**
 * Object keys are generated here, never taken from the client:
 *
 *   3f/2026/11/25/3f9c…(40 hex digits = 160 random bits).jpg
 *
 * The random part makes one download URL impossible to derive from another. Its first two
 * digits lead the key, so writes spread over 256 prefixes from the first character: stores
 * partition by key range (S3 takes ~3,500 writes per second per prefix before `SlowDown`),
 * and a date-first key put a whole day's uploads on one. The date keeps a folder or bucket
 * browsable. Hex rather than base64 so keys stay distinct on case-insensitive filesystems.
 * Keys of the earlier layout (`2026/11/25/<hex>.jpg`) stay valid for downloads.
 */
const RANDOM_BYTES = 20;
/**
 * Keys drawn from one CSPRNG call. Each randomBytes call costs a trip into OpenSSL that
 * showed as 2 % of a busy gateway's event loop on 16 KiB uploads; the same bytes fetched
 * for 128 keys at once are just as random (crypto.randomUUID caches entropy the same way).
 */
const KEYS_PER_DRAW = 128;
let entropy = Buffer.alloc(0);
let used = 0;

function randomHex(): string {
  if (used + RANDOM_BYTES > entropy.length) {
    entropy = randomBytes(RANDOM_BYTES * KEYS_PER_DRAW);
    used = 0;
  }
  const hex = entropy.toString("hex", used, used + RANDOM_BYTES);
  // Spent bytes are wiped: a key is its object's only protection, so none lingers here.
  entropy.fill(0, used, used + RANDOM_BYTES);
  used += RANDOM_BYTES;
  return hex;
}

const EXTENSION = "(\\.[a-z0-9]{1,10})?";
const KEY_PATTERN = new RegExp(
  `^(?:([0-9a-f]{2})/)?\\d{4}/\\d{2}/\\d{2}/([0-9a-f]{40})${EXTENSION}$`,
);

/** A short, safe extension from the client's file name, or "" when it has none. */
export function safeExtension(originalName: string | undefined): string {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(originalName ?? "");
  return match ? `.${match[1]?.toLowerCase()}` : "";
}

/** Extensions that name the same type as file-type's canonical one. */
const SAME_TYPE: Record<string, string> = {
  jpeg: "jpg",
  jpe: "jpg",
  jfif: "jpg",
  tif: "tiff",
  mov: "mov",
  qt: "mov",
  htm: "html",
  mpeg: "mpg",
  oga: "ogg",
  opus: "opus",
};

/**
 * The key's extension: the file name's, unless the bytes say otherwise. A name with none
 * (`noname`, `blob`) or one that contradicts the detected type (a PNG named `photo.jpg`)
 * takes the detected type's extension, so the URL says what the file is.
 */
export function keyExtension(
  originalName: string | undefined,
  detectedExt: string | undefined,
): string {
  const named = safeExtension(originalName);
  if (!detectedExt || !/^[a-z0-9]{1,10}$/.test(detectedExt)) return named;
  const bare = named.slice(1);
  const sameType = bare === detectedExt || SAME_TYPE[bare] === detectedExt;
  return sameType ? named : `.${detectedExt}`;
}

export function newObjectKey(extension: string, now = new Date()): string {
  const date = now.toISOString().slice(0, 10).replaceAll("-", "/");
  const random = randomHex();
  return `${random.slice(0, 2)}/${date}/${random}${extension}`;
}

/**
 * Whether a download path names a key this gateway could have generated (either layout).
 * Anything else is answered 404 without asking the backend, so no path trick ever reaches
 * storage.
 */
export function isObjectKey(key: string): boolean {
  const match = KEY_PATTERN.exec(key);
  if (!match) return false;
  const [, lead, random] = match;
  return lead === undefined || random?.startsWith(lead) === true;
}
