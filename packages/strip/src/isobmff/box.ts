import type { StripFormat } from "../report.ts";

/** An ISO BMFF / QuickTime box header as it sits in the stream. */
export interface BoxHeader {
  /** Four bytes as latin1, so QuickTime's `©xyz` reads as "\u00a9xyz". */
  type: string;
  /** Header bytes including a 64-bit size and a uuid's 16-byte user type. */
  headerSize: number;
  /** Whole box; a size-0 box ("to the end") gets the bytes left in its parent. */
  size: number;
  /** Size 0 in the header: the box runs to the end of its parent (or of the file). */
  toEnd: boolean;
  /** Peeked bytes that start with the header (its first headerSize bytes; copy before changing). */
  raw: Buffer;
}

/** Enough bytes for the largest header: size, type, 64-bit size and a uuid. */
export const MAX_HEADER = 32;

/**
 * Parses the header at the start of `buf`. `room` is how many bytes the parent has left
 * (Number.MAX_SAFE_INTEGER at the top level of a stream of unknown length).
 * Returns "short" when `buf` ends inside the header and "bad" when it cannot be a box.
 */
export function parseBoxHeader(buf: Buffer, room: number): BoxHeader | "short" | "bad" {
  if (buf.length < 8) return "short";
  const size32 = buf.readUInt32BE(0);
  const type = buf.toString("latin1", 4, 8);
  let headerSize = 8;
  let size: number;
  if (size32 === 1) {
    if (buf.length < 16) return "short";
    const large = buf.readBigUInt64BE(8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) return "bad";
    size = Number(large);
    headerSize = 16;
  } else size = size32 === 0 ? room : size32;
  if (type === "uuid") {
    headerSize += 16;
    if (buf.length < headerSize) return "short";
  }
  if (size < headerSize || size > room) return "bad";
  return { type, headerSize, size, toEnd: size32 === 0, raw: buf };
}

/** Box types that open an ISO BMFF or QuickTime file. */
const FIRST_BOXES = new Set(["ftyp", "moov", "mdat", "wide", "free", "skip", "pnot"]);

export function looksLikeIsobmff(head: Buffer): boolean {
  if (head.length < 8) return false;
  const size = head.readUInt32BE(0);
  return FIRST_BOXES.has(head.toString("latin1", 4, 8)) && (size === 0 || size === 1 || size >= 8);
}

/** The format an `ftyp` payload (major brand, minor version, compatible brands) names. */
export function formatFromBrands(payload: Buffer): StripFormat {
  const brands = new Set<string>();
  if (payload.length >= 4) brands.add(payload.toString("latin1", 0, 4));
  for (let at = 8; at + 4 <= payload.length; at += 4)
    brands.add(payload.toString("latin1", at, at + 4));
  if (brands.has("avif") || brands.has("avis")) return "avif";
  for (const b of ["heic", "heix", "heim", "heis", "hevc", "hevx"])
    if (brands.has(b)) return "heic";
  if (brands.has("mif1") || brands.has("msf1")) return "heif";
  if (brands.has("qt  ")) return "mov";
  return "mp4";
}
