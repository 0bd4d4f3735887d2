import { crc32 } from "node:zlib";
import { Confused, pass, peek, read, skip, type StripContext, type Step } from "./ops.ts";
import { inspectTiff, orientationTiff, reportExif, tiffStart } from "./exif.ts";
import type { RemovedLabel } from "./report.ts";

/**
 * PNG: walks the chunks and drops eXIf, tEXt, zTXt, iTXt (XMP travels in an iTXt), tIME and
 * caBX (C2PA). Every other chunk, iCCP/sRGB/gAMA/cHRM/pHYs included, passes byte for byte with
 * its CRC. An eXIf with an orientation other than 1 is replaced by one holding only that tag.
 */
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const DROP: ReadonlyMap<string, RemovedLabel> = new Map<string, RemovedLabel>([
  ["eXIf", "exif"],
  ["tEXt", "text"],
  ["zTXt", "text"],
  ["iTXt", "text"],
  ["tIME", "time"],
  ["caBX", "c2pa"],
]);
/** Enough of an eXIf chunk to find IFD0's orientation in any sane file. */
const EXIF_INSPECT = 64 * 1024;
const XMP_KEYWORD = "XML:com.adobe.xmp\0";

export function* stripPng(ctx: StripContext): Step<void> {
  const sig = yield* peek(8);
  if (!sig.equals(SIGNATURE)) return;
  ctx.report.format = "png";
  yield* pass(8);
  for (;;) {
    const head = yield* peek(8);
    if (head.length < 8) {
      if (head.length > 0) ctx.incomplete("truncated", "PNG ended inside a chunk header");
      else ctx.incomplete("truncated", "PNG ended before IEND");
      return;
    }
    const length = head.readUInt32BE(0);
    const type = head.toString("latin1", 4, 8);
    if (length > 0x7fffffff || !/^[A-Za-z]{4}$/.test(type)) {
      throw new Confused("malformed", "PNG: bad chunk header");
    }
    const total = 12 + length;
    const label = DROP.get(type);
    let done: number;
    if (type === "iCCP") ctx.report.kept("icc");
    if (label === undefined) done = yield* pass(total);
    else if (type === "eXIf") done = yield* exifChunk(ctx, total);
    else {
      if (type === "iTXt") {
        const keyword = yield* peek(8 + Math.min(length, XMP_KEYWORD.length));
        ctx.report.removed(keyword.toString("latin1", 8) === XMP_KEYWORD ? "xmp" : "text");
      } else ctx.report.removed(label);
      done = yield* skip(total);
    }
    if (done < total) {
      ctx.incomplete("truncated", "PNG ended inside a chunk");
      return;
    }
    if (type === "IEND") return;
  }
}

function* exifChunk(ctx: StripContext, total: number): Step<number> {
  const inspected = yield* read(Math.min(total, 8 + EXIF_INSPECT));
  const data = inspected.subarray(8);
  const facts = inspectTiff(data.subarray(tiffStart(data)));
  reportExif(ctx.report, facts);
  const rest = yield* skip(total - inspected.length);
  const done = inspected.length + rest;
  if (done === total && facts.orientation !== undefined) {
    ctx.emit(chunk("eXIf", orientationTiff(facts.orientation)));
    ctx.report.kept("orientation");
  }
  return done;
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
