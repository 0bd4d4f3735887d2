import { pass, read, skip, zeroFill, type StripContext, type Step } from "../ops.ts";
import { inspectTiff, replacementTiff, reportExif } from "../exif.ts";
import type { ItemKind, ItemLocation } from "./items.ts";

/**
 * Where the Exif and XMP items of a HEIF/AVIF file lie, in absolute stream offsets, and the pass
 * that overwrites them as they stream by. An Exif item's first bytes become an Exif that holds
 * only the orientation (or no tag), the rest zeros; an XMP item becomes an empty XMP document
 * padded with spaces. Lengths never change, so every offset stays valid.
 */
interface Range {
  start: number;
  end: number;
  kind: ItemKind;
  /** The Exif header is at `start` (first extent of the item) and has not passed yet. */
  header: boolean;
  /** How far this range has been overwritten. */
  done: number;
}

interface Pending {
  kind: ItemKind;
  offset: number;
  length: number;
  header: boolean;
}

/** An XMP document with no properties; trailing spaces are valid XML whitespace. */
const EMPTY_XMP = Buffer.from('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>', "latin1");
/** Enough of an Exif item to find IFD0's orientation. */
const EXIF_INSPECT = 64 * 1024;

export class ItemRanges {
  #kinds: Map<number, ItemKind> | undefined;
  #locations: ItemLocation[] | undefined;
  /** Extents inside the idat of the meta box being read, offsets relative to its payload. */
  #idat: Pending[] = [];
  #ranges: Range[] = [];

  setKinds(ctx: StripContext, kinds: Map<number, ItemKind>): void {
    this.#kinds = kinds;
    this.#resolve(ctx);
  }

  setLocations(ctx: StripContext, locations: ItemLocation[]): void {
    this.#locations = locations;
    this.#resolve(ctx);
  }

  /** An idat payload starts at the current position: its items get their absolute place. */
  idatAt(ctx: StripContext, payloadStart: number): void {
    for (const p of this.#idat) this.#add(ctx, p, payloadStart + p.offset);
    this.#idat = [];
  }

  /** Ranges that were passed over without being overwritten (they lay where no pass went). */
  finish(ctx: StripContext): void {
    const missed = this.#ranges.some(
      (r) => r.start < ctx.position && r.done < Math.min(r.end, ctx.position),
    );
    if (missed) ctx.incomplete("unreachable", "HEIF: an Exif/XMP item lay outside any box payload");
  }

  /** Forwards n bytes, overwriting whatever part of them belongs to an Exif or XMP item. */
  *pass(ctx: StripContext, n: number): Step<number> {
    const end = ctx.position + n;
    let done = 0;
    while (ctx.position < end) {
      const at = ctx.position;
      const r = this.#ranges.find((x) => x.end > at && x.done < x.end);
      if (r === undefined || r.start > at) {
        const until = r === undefined ? end : Math.min(r.start, end);
        const k = yield* pass(until - at);
        done += k;
        if (k < until - at) return done;
        continue;
      }
      if (r.done < at)
        ctx.incomplete("unreachable", "HEIF: part of an item lay outside any payload");
      const stop = Math.min(r.end, end);
      const k = yield* this.#overwrite(ctx, r, stop - at);
      done += k;
      r.done = ctx.position;
      if (k < stop - at) return done;
    }
    return done;
  }

  #resolve(ctx: StripContext): void {
    if (!this.#kinds || !this.#locations) return;
    for (const loc of this.#locations) {
      const kind = this.#kinds.get(loc.id);
      if (kind === undefined || loc.method > 1) continue;
      loc.extents.forEach((e, i) => {
        const p: Pending = { kind, offset: e.offset, length: e.length, header: i === 0 };
        if (loc.method === 1) this.#idat.push(p);
        else this.#add(ctx, p, e.offset);
      });
    }
    this.#kinds = undefined;
    this.#locations = undefined;
  }

  #add(ctx: StripContext, p: Pending, start: number): void {
    if (p.length === 0) return; // "to the end of the file": no real writer does this for metadata
    if (start < ctx.position) {
      ctx.incomplete("unreachable", "HEIF: an Exif/XMP item lies before its item table");
      return;
    }
    const range: Range = {
      start,
      end: start + p.length,
      kind: p.kind,
      header: p.header,
      done: start,
    };
    this.#ranges.push(range);
    this.#ranges.sort((a, b) => a.start - b.start);
  }

  *#overwrite(ctx: StripContext, r: Range, n: number): Step<number> {
    if (r.kind === "xmp") {
      ctx.report.removed("xmp");
      if (!r.header || ctx.position !== r.start || n < EMPTY_XMP.length)
        return yield* zeroFill(ctx, n, 0x20);
      r.header = false;
      const k = yield* skip(EMPTY_XMP.length);
      ctx.emit(Buffer.from(EMPTY_XMP.subarray(0, k))); // a copy: never hand out a shared buffer
      return k + (yield* zeroFill(ctx, n - k, 0x20));
    }
    if (!r.header || ctx.position !== r.start) return yield* zeroFill(ctx, n);
    r.header = false;
    const data = yield* read(Math.min(n, EXIF_INSPECT));
    // An Exif item starts with the offset of its TIFF header, counted after those 4 bytes.
    const skipTo = data.length >= 4 ? 4 + data.readUInt32BE(0) : data.length;
    const facts = inspectTiff(data.subarray(Math.min(skipTo, data.length)));
    reportExif(ctx.report, facts);
    const out = Buffer.alloc(data.length);
    const tiff = replacementTiff(facts);
    if (4 + tiff.length <= out.length) {
      tiff.copy(out, 4);
      if (facts.orientation !== undefined) ctx.report.kept("orientation");
    }
    ctx.emit(out);
    return data.length + (yield* zeroFill(ctx, n - data.length));
  }
}
