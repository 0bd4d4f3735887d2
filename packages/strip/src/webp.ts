import { Confused, pass, peek, read, skip, zeroFill, type StripContext, type Step } from "./ops.ts";
import { inspectTiff, replacementTiff, reportExif, tiffStart, type ExifFacts } from "./exif.ts";
import type { RemovedLabel } from "./report.ts";

/**
 * WebP (RIFF): EXIF and XMP chunks (and C2PA) usually come after the image data, but the RIFF
 * size that counts them is in the first 8 bytes. Two paths, chosen from the declared RIFF size:
 *
 * - rewrite (file ≤ webpHoldLimit): output is held back whole, the chunks are cut out, then the
 *   RIFF size and the VP8X flags are fixed and everything is released. Memory ≤ the limit.
 * - in place (larger files): nothing is held; the EXIF payload is overwritten with an Exif that
 *   holds only the orientation (or no tag), padded with zeros; XMP and C2PA chunks get the
 *   FourCC `JUNK` and zeroed payloads (readers skip unknown chunks), the VP8X XMP flag is
 *   cleared. Every size stays valid because no size changes.
 */
const FLAG_EXIF = 0x08;
const FLAG_XMP = 0x04;
const EXIF_INSPECT = 64 * 1024;
const NEUTRAL = Buffer.from("JUNK", "latin1");
const DROP: ReadonlyMap<string, RemovedLabel> = new Map<string, RemovedLabel>([
  ["EXIF", "exif"],
  ["XMP ", "xmp"],
  ["C2PA", "c2pa"],
]);

interface Chunk {
  fourcc: string;
  /** Header plus payload plus the pad byte of odd sizes. */
  total: number;
}

export function* stripWebp(ctx: StripContext): Step<void> {
  const head = yield* peek(12);
  if (
    head.length < 12 ||
    head.toString("latin1", 0, 4) !== "RIFF" ||
    head.toString("latin1", 8, 12) !== "WEBP"
  ) {
    return;
  }
  ctx.report.format = "webp";
  const end = 8 + head.readUInt32LE(4);
  if (end <= ctx.options.webpHoldLimit) yield* rewrite(ctx, end);
  else yield* inPlace(ctx, end);
}

/** Reads the next chunk header, or undefined at the end of the RIFF (or of a truncated input). */
function* nextChunk(ctx: StripContext, end: number): Step<Chunk | undefined> {
  if (ctx.position >= end) return undefined;
  const head = yield* peek(8);
  if (head.length < 8) {
    ctx.incomplete("truncated", "WebP ended inside the RIFF");
    return undefined;
  }
  const size = head.readUInt32LE(4);
  const total = 8 + size + (size & 1);
  if (ctx.position + total > end + (size & 1))
    throw new Confused("malformed", "WebP: chunk beyond the RIFF");
  return { fourcc: head.toString("latin1", 0, 4), total };
}

function* rewrite(ctx: StripContext, end: number): Step<void> {
  ctx.startHold();
  const header = Buffer.from(yield* read(12));
  ctx.emit(header);
  let removed = 0;
  let vp8x: Buffer | undefined;
  let exifKept = false;
  try {
    for (let chunk = yield* nextChunk(ctx, end); chunk; chunk = yield* nextChunk(ctx, end)) {
      const label = DROP.get(chunk.fourcc);
      if (chunk.fourcc === "ICCP") ctx.report.kept("icc");
      let done: number;
      if (chunk.fourcc === "VP8X") {
        vp8x = yield* vp8xHead(ctx, chunk.total);
        done = vp8x.length + (yield* pass(chunk.total - vp8x.length));
      } else if (label === undefined) done = yield* pass(chunk.total);
      else if (chunk.fourcc === "EXIF") {
        const { facts, inspected } = yield* inspectExif(ctx, chunk.total);
        done = inspected + (yield* skip(chunk.total - inspected));
        removed += done;
        if (facts.orientation !== undefined && !exifKept) {
          const tiff = replacementTiff(facts);
          const replaced = Buffer.alloc(8 + tiff.length);
          replaced.write("EXIF", 0, "latin1");
          replaced.writeUInt32LE(tiff.length, 4);
          tiff.copy(replaced, 8);
          ctx.emit(replaced);
          ctx.report.kept("orientation");
          removed -= replaced.length;
          exifKept = true;
        }
      } else {
        ctx.report.removed(label);
        done = yield* skip(chunk.total);
        removed += done;
      }
      if (done < chunk.total) {
        ctx.incomplete("truncated", "WebP ended inside a chunk");
        return;
      }
    }
  } finally {
    header.writeUInt32LE(Math.max(4, header.readUInt32LE(4) - removed), 4);
    if (vp8x && vp8x.length > 8)
      vp8x.writeUInt8(vp8x.readUInt8(8) & ~(FLAG_XMP | (exifKept ? 0 : FLAG_EXIF)), 8);
    ctx.endHold();
  }
}

function* inPlace(ctx: StripContext, end: number): Step<void> {
  yield* pass(12);
  for (let chunk = yield* nextChunk(ctx, end); chunk; chunk = yield* nextChunk(ctx, end)) {
    const label = DROP.get(chunk.fourcc);
    if (chunk.fourcc === "ICCP") ctx.report.kept("icc");
    let done: number;
    if (chunk.fourcc === "VP8X") {
      const head = yield* vp8xHead(ctx, chunk.total);
      if (head.length > 8) head.writeUInt8(head.readUInt8(8) & ~FLAG_XMP, 8);
      done = head.length + (yield* pass(chunk.total - head.length));
    } else if (label === undefined) done = yield* pass(chunk.total);
    else if (chunk.fourcc === "EXIF") done = yield* overwriteExif(ctx, chunk.total);
    else {
      ctx.report.removed(label);
      const header = Buffer.from(yield* read(8));
      NEUTRAL.copy(header, 0);
      ctx.emit(header);
      done = header.length + (yield* zeroFill(ctx, chunk.total - 8));
    }
    if (done < chunk.total) {
      ctx.incomplete("truncated", "WebP ended inside a chunk");
      return;
    }
  }
}

/** A copy of the VP8X chunk header and flags (emitted now, patched later while held). */
function* vp8xHead(ctx: StripContext, total: number): Step<Buffer> {
  const head = Buffer.from(yield* read(Math.min(9, total)));
  ctx.emit(head);
  return head;
}

/** Keeps the EXIF chunk and its size, replacing its payload with the orientation alone. */
function* overwriteExif(ctx: StripContext, total: number): Step<number> {
  const { facts, inspected, data } = yield* inspectExif(ctx, total);
  const out = Buffer.alloc(data.length);
  data.copy(out, 0, 0, 8);
  const tiff = replacementTiff(facts);
  if (8 + tiff.length <= total) {
    tiff.copy(out, 8);
    if (facts.orientation !== undefined) ctx.report.kept("orientation");
  }
  ctx.emit(out);
  return inspected + (yield* zeroFill(ctx, total - inspected));
}

function* inspectExif(
  ctx: StripContext,
  total: number,
): Step<{ facts: ExifFacts; inspected: number; data: Buffer }> {
  const data = yield* read(Math.min(total, 8 + EXIF_INSPECT));
  const payload = data.subarray(8);
  const facts = inspectTiff(payload.subarray(tiffStart(payload)));
  reportExif(ctx.report, facts);
  return { facts, inspected: data.length, data };
}
