import type { RemovedLabel } from "../report.ts";
import type { BoxHeader } from "./box.ts";

/**
 * QuickTime user-data boxes (children of udta) that say where or with what a video was made.
 * GoPro's: the camera's ID (CAME), firmware (FIRM), lens (LENS), and a GPMF record of the
 * camera's serial number, model and settings. Its per-file IDs (MUID, GUMI) are kept.
 */
export const USER_DATA: ReadonlyMap<string, RemovedLabel> = new Map<string, RemovedLabel>([
  ["\u00a9xyz", "location"],
  ["loci", "location"],
  ["\u00a9mak", "device"],
  ["\u00a9mod", "device"],
  ["\u00a9swr", "device"],
  ["CAME", "device"],
  ["FIRM", "device"],
  ["LENS", "device"],
  ["GPMF", "device"],
  ["XMP_", "xmp"],
]);

/** uuid boxes: Adobe's XMP and C2PA manifests (whose assertions may hold a location). */
const UUIDS: ReadonlyMap<string, RemovedLabel> = new Map<string, RemovedLabel>([
  ["be7acfcb97a942e89c71999491e3afac", "xmp"],
  ["d8fec3d61b0e483c92975828877ec481", "c2pa"],
]);

export function uuidLabel(usertype: Buffer): RemovedLabel | undefined {
  return UUIDS.get(usertype.toString("hex"));
}

/**
 * What a QuickTime metadata key says, judged by its name rather than by a list of full names:
 * Apple and Android write reverse-DNS names (`com.apple.quicktime.location.ISO6709`,
 * `com.android.model`), ffmpeg with `-movflags +use_metadata_tags` writes its own tag names as
 * they are (`location`, `make`, `model`, and `location-eng` once a file with a language-tagged
 * ©xyz has been remuxed), and a key in the `udta` namespace is a user-data code like `©xyz`.
 *
 * Location: any name that mentions a location, GPS or an ISO 6709 position, whatever its prefix.
 * Device: any name one of whose dot/dash/underscore-separated words is a device word below
 * (`com.apple.quicktime.make`, `make-eng`, `com.apple.quicktime.camera.lens_model`), and
 * Android's OS version. Kept: everything else, e.g. `encoder`, `title`, `creationdate`,
 * `com.android.capture.fps`, `com.apple.quicktime.content.identifier`.
 */
const LOCATION_KEY = /location|gps|iso6709|latitude|longitude/;
const DEVICE_WORDS = new Set([
  "make",
  "model",
  "manufacturer",
  "software",
  "serial",
  "serialnumber",
]);
const DEVICE_KEYS = new Set(["com.android.version"]);

export function keyLabel(name: string): RemovedLabel | undefined {
  const byCode = USER_DATA.get(name);
  if (byCode) return byCode;
  const lower = name.toLowerCase();
  if (LOCATION_KEY.test(lower)) return "location";
  if (DEVICE_KEYS.has(lower)) return "device";
  return lower.split(/[^a-z0-9]+/).some((w) => DEVICE_WORDS.has(w)) ? "device" : undefined;
}

/** An ilst item whose key cannot be told: it may hold anything, so stripping is incomplete. */
export const UNKNOWN_KEY = "unknown";

/**
 * What to remove for one ilst item. With a keys box its type is a 1-based key index; without
 * one (iTunes-style udta/meta/ilst) it is a four-character code like `©xyz`. A type that reads
 * as a small index with no key behind it (the keys box is missing, comes after the ilst, or
 * declares fewer keys than are used) is UNKNOWN_KEY.
 */
export function itemLabel(
  keys: string[] | undefined,
  h: BoxHeader,
): RemovedLabel | typeof UNKNOWN_KEY | undefined {
  const byCode = USER_DATA.get(h.type);
  if (byCode) return byCode === "xmp" ? undefined : byCode;
  const index = h.raw.readUInt32BE(4);
  const name = keys?.[index - 1];
  if (name !== undefined) return keyLabel(name);
  // Four-character codes are printable; a first byte of 0 is an index (at most 2^24 keys).
  return index < 0x0100_0000 ? UNKNOWN_KEY : undefined;
}

/**
 * Key names from a `keys` payload (version/flags, count, then size + namespace + name). Names
 * in the `mdta` namespace are UTF-8; in the `udta` namespace they are four-character codes,
 * read as latin1 like box types (so `©xyz` matches USER_DATA). Parsing stops at the first entry
 * that does not fit: items that use a later index are then UNKNOWN_KEY.
 */
export function parseKeys(payload: Buffer): string[] {
  const keys: string[] = [];
  if (payload.length < 8) return keys;
  const count = payload.readUInt32BE(4);
  let at = 8;
  for (let i = 0; i < count && at + 8 <= payload.length; i++) {
    const size = payload.readUInt32BE(at);
    if (size < 8 || at + size > payload.length) break;
    const namespace = payload.toString("latin1", at + 4, at + 8);
    keys.push(payload.toString(namespace === "udta" ? "latin1" : "utf8", at + 8, at + size));
    at += size;
  }
  return keys;
}
