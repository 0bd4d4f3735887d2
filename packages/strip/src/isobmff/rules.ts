import type { RemovedLabel } from "../report.ts";
import type { BoxHeader } from "./box.ts";

/** QuickTime user-data boxes (children of udta) that say where or with what a video was made. */
export const USER_DATA: ReadonlyMap<string, RemovedLabel> = new Map<string, RemovedLabel>([
  ["\u00a9xyz", "location"],
  ["loci", "location"],
  ["\u00a9mak", "device"],
  ["\u00a9mod", "device"],
  ["\u00a9swr", "device"],
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

/** QuickTime metadata keys (the `mdta` namespace) whose values are removed. */
const DEVICE_KEYS = new Set([
  "com.apple.quicktime.make",
  "com.apple.quicktime.model",
  "com.apple.quicktime.software",
  "com.android.manufacturer",
  "com.android.model",
  "com.android.version",
]);

export function keyLabel(name: string): RemovedLabel | undefined {
  if (name.startsWith("com.apple.quicktime.location.")) return "location";
  return DEVICE_KEYS.has(name) ? "device" : undefined;
}

/**
 * What to remove for one ilst item: with a keys box its type is a 1-based key index, without
 * one (iTunes-style udta/meta/ilst) it is a four-character code like `©xyz`.
 */
export function itemLabel(keys: string[] | undefined, h: BoxHeader): RemovedLabel | undefined {
  if (keys) {
    const name = keys[h.raw.readUInt32BE(4) - 1];
    return name === undefined ? undefined : keyLabel(name);
  }
  const label = USER_DATA.get(h.type);
  return label === "xmp" ? undefined : label;
}

/** Key names from a `keys` payload (version/flags, count, then size + namespace + name). */
export function parseKeys(payload: Buffer): string[] {
  const keys: string[] = [];
  if (payload.length < 8) return keys;
  const count = payload.readUInt32BE(4);
  let at = 8;
  for (let i = 0; i < count && at + 8 <= payload.length; i++) {
    const size = payload.readUInt32BE(at);
    if (size < 8 || at + size > payload.length) break;
    keys.push(payload.toString("utf8", at + 8, at + size));
    at += size;
  }
  return keys;
}
