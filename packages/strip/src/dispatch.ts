import { StripStream } from "./engine.ts";
import { peek, type Parser, type StripOptions } from "./ops.ts";
import { looksLikeIsobmff } from "./isobmff/box.ts";
import { stripIsobmff } from "./isobmff/walk.ts";
import { stripJpeg } from "./jpeg.ts";
import { stripPng } from "./png.ts";
import type { StripFormat } from "./report.ts";
import { stripWebp } from "./webp.ts";

/** Bytes that decide the format: RIFF/WEBP needs 12, an ftyp box 16 (its major brand). */
export const SNIFF_BYTES = 16;

export type Family = "jpeg" | "png" | "webp" | "isobmff" | "other";

/**
 * Which parser the first bytes call for. Only magic numbers count: mesibo's clients send every
 * file as application/octet-stream, and a declared type is the sender's word anyway. Bytes that
 * match nothing (client-side encrypted media among them) are passed through untouched.
 */
export function detectFamily(head: Buffer): Family {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  if (
    head.length >= 8 &&
    head.readUInt32BE(0) === 0x89504e47 &&
    head.readUInt32BE(4) === 0x0d0a1a0a
  ) {
    return "png";
  }
  if (
    head.length >= 12 &&
    head.toString("latin1", 0, 4) === "RIFF" &&
    head.toString("latin1", 8, 12) === "WEBP"
  ) {
    return "webp";
  }
  return looksLikeIsobmff(head) ? "isobmff" : "other";
}

const PARSERS: Record<Exclude<Family, "other">, Parser> = {
  jpeg: stripJpeg,
  png: stripPng,
  webp: stripWebp,
  isobmff: stripIsobmff,
};

/**
 * The one stage for uploads: it looks at the first bytes, strips what it knows for that format
 * and passes everything else through byte for byte. `report` tells what it did once finished.
 */
export function createStripStream(options: StripOptions = {}): StripStream {
  return new StripStream(function* (ctx) {
    const family = detectFamily(yield* peek(SNIFF_BYTES));
    if (family !== "other") yield* PARSERS[family](ctx);
  }, options);
}

export const createJpegStripStream = (options: StripOptions = {}) =>
  new StripStream(stripJpeg, options);
export const createPngStripStream = (options: StripOptions = {}) =>
  new StripStream(stripPng, options);
export const createWebpStripStream = (options: StripOptions = {}) =>
  new StripStream(stripWebp, options);
/** HEIC/HEIF/AVIF images and MP4/MOV (and 3GP, M4V…) videos. */
export const createIsobmffStripStream = (options: StripOptions = {}) =>
  new StripStream(stripIsobmff, options);

export type { StripFormat };
