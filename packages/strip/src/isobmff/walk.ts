import {
  Confused,
  pass,
  peek,
  read,
  skip,
  zeroFill,
  type StripContext,
  type Step,
} from "../ops.ts";
import type { RemovedLabel } from "../report.ts";
import {
  formatFromBrands,
  looksLikeIsobmff,
  MAX_HEADER,
  parseBoxHeader,
  type BoxHeader,
} from "./box.ts";
import { parseIinf, parseIloc } from "./items.ts";
import { ItemRanges } from "./ranges.ts";
import { itemLabel, parseKeys, UNKNOWN_KEY, USER_DATA, uuidLabel } from "./rules.ts";

/**
 * ISO BMFF (HEIF, AVIF, MP4) and QuickTime (MOV): walks the boxes as they stream, descending
 * only into the containers where metadata lives (moov, trak, udta, meta, ilst). Nothing changes
 * length: location and device boxes, sensitive ilst items and XMP/C2PA uuid boxes become `free`
 * boxes of the same size with zeroed content, and Exif/XMP items of
 * HEIF/AVIF files are overwritten where iloc says they are. Large leaves (mdat, stbl) pass as
 * slices; only small tables (ftyp, keys, iinf, iloc) are read whole, up to TABLE_LIMIT.
 */
const TABLE_LIMIT = 1024 * 1024;
const MAX_DEPTH = 12;
const TOP = "";

/** A container being walked: where it ends, its type, and the key names its meta declared. */
interface Frame {
  end: number;
  type: string;
  /** Key names of the enclosing meta box (QuickTime `mdta` metadata), once its keys are read. */
  keys: string[] | undefined;
}

interface Walk {
  ctx: StripContext;
  items: ItemRanges;
  frame: Frame;
}

/**
 * One loop over the whole file with an explicit stack of containers, rather than a generator
 * per nesting level: every request to the engine passes through each level of generators on
 * its way, so a flat walk keeps the cost per box low.
 */
export function* stripIsobmff(ctx: StripContext): Step<void> {
  const head = yield* peek(16);
  if (!looksLikeIsobmff(head)) return;
  ctx.report.format = "mov";
  const top: Frame = { end: Number.MAX_SAFE_INTEGER, type: TOP, keys: undefined };
  const stack: Frame[] = [top];
  const w: Walk = { ctx, items: new ItemRanges(), frame: top };
  for (;;) {
    let frame = stack.at(-1) ?? top;
    while (frame !== top && ctx.position >= frame.end) {
      stack.pop();
      frame = stack.at(-1) ?? top;
    }
    w.frame = frame;
    const room = frame.end - ctx.position;
    // QuickTime may close a udta with a 32-bit zero; any tail too short for a box is padding.
    if (room < 8 && frame !== top) {
      if ((yield* pass(room)) < room) return truncated(ctx, frame.type);
      continue;
    }
    const want = Math.min(MAX_HEADER, room);
    const raw = yield* peek(want);
    if (raw.length === 0 && frame === top) break;
    const h = parseBoxHeader(raw, room);
    if (h === "short" && raw.length < want) return truncated(ctx, frame.type);
    if (typeof h === "string") {
      throw new Confused("malformed", `ISO BMFF: bad box header in '${frame.type}'`);
    }
    const kind = stack.length <= MAX_DEPTH ? decide(h, frame.type) : "leaf";
    if (kind === "container") {
      const start = ctx.position;
      if ((yield* pass(h.headerSize)) < h.headerSize) return truncated(ctx, h.type);
      // ISO meta is a full box (4 bytes of version/flags); QuickTime's moov/meta is not.
      if (h.type === "meta" && h.size - h.headerSize >= 4) {
        const vf = yield* peek(4);
        if (vf.length === 4 && vf.readUInt32BE(0) === 0) yield* pass(4);
      }
      const keys = h.type === "meta" ? undefined : frame.keys;
      stack.push({ end: start + h.size, type: h.type, keys });
      continue;
    }
    if (!(yield* box(w, h, kind))) {
      if (h.toEnd) break;
      return truncated(ctx, h.type);
    }
  }
  w.items.finish(ctx);
}

function truncated(ctx: StripContext, where: string): void {
  ctx.incomplete("truncated", `ISO BMFF: input ended inside '${where || "the file"}'`);
}

/** Handles one box that is not descended into; false once the input has ended. */
function* box(w: Walk, h: BoxHeader, kind: Exclude<Kind, "container">): Step<boolean> {
  const { ctx } = w;
  switch (kind) {
    case "table":
      return yield* table(w, h);
    case "idat": {
      if ((yield* pass(h.headerSize)) < h.headerSize) return false;
      w.items.idatAt(ctx, ctx.position);
      const n = h.size - h.headerSize;
      return (yield* w.items.pass(ctx, n)) === n;
    }
    case "uuid": {
      const label = uuidLabel(h.raw.subarray(h.headerSize - 16, h.headerSize));
      return label ? yield* freeBox(ctx, h, label) : yield* leaf(w, h);
    }
    case "free-box": {
      const label = USER_DATA.get(h.type);
      return label ? yield* freeBox(ctx, h, label) : yield* leaf(w, h);
    }
    case "free-item": {
      const label = itemLabel(w.frame.keys, h);
      if (label === UNKNOWN_KEY) {
        if (w.frame.keys === undefined)
          ctx.incomplete(
            "unreachable",
            "QuickTime: an ilst item uses a key index before any keys box",
          );
        else ctx.incomplete("malformed", "QuickTime: an ilst item names a key that is not there");
        return yield* leaf(w, h);
      }
      return label ? yield* freeBox(ctx, h, label) : yield* leaf(w, h);
    }
    case "leaf":
      return yield* leaf(w, h);
  }
}

type Kind = "container" | "table" | "idat" | "uuid" | "free-box" | "free-item" | "leaf";

function decide(h: BoxHeader, parent: string): Kind {
  const t = h.type;
  if (t === "uuid") return "uuid";
  switch (parent) {
    case TOP:
      if (t === "ftyp") return "table";
      return t === "moov" || t === "meta" ? "container" : "leaf";
    case "moov":
      return t === "trak" || t === "udta" || t === "meta" ? "container" : "leaf";
    case "trak":
      return t === "udta" || t === "meta" ? "container" : "leaf";
    case "udta":
      if (t === "meta") return "container";
      return USER_DATA.has(t) ? "free-box" : "leaf";
    case "meta":
      if (t === "keys" || t === "iinf" || t === "iloc") return "table";
      if (t === "ilst") return "container";
      return t === "idat" ? "idat" : "leaf";
    case "ilst":
      return "free-item";
    default:
      return "leaf";
  }
}

function* leaf(w: Walk, h: BoxHeader): Step<boolean> {
  return (yield* w.items.pass(w.ctx, h.size)) === h.size;
}

/** Reads a small box whole, passes it on unchanged and learns from it. */
function* table(w: Walk, h: BoxHeader): Step<boolean> {
  const { ctx } = w;
  if (h.size > TABLE_LIMIT) {
    ctx.incomplete("limit", `ISO BMFF: '${h.type}' is larger than ${TABLE_LIMIT} bytes`);
    return yield* leaf(w, h);
  }
  const whole = yield* read(h.size);
  ctx.emit(whole);
  if (whole.length < h.size) return false;
  const payload = whole.subarray(h.headerSize);
  if (h.type === "ftyp") ctx.report.format = formatFromBrands(payload);
  else if (h.type === "keys") w.frame.keys = parseKeys(payload);
  else {
    const parsed = h.type === "iinf" ? parseIinf(payload) : parseIloc(payload);
    if (parsed === undefined) ctx.incomplete("malformed", `HEIF: unreadable '${h.type}'`);
    else if (parsed instanceof Map) w.items.setKinds(ctx, parsed);
    else w.items.setLocations(ctx, parsed);
  }
  return true;
}

/** Turns the whole box into a `free` box of the same size with zeroed content. */
function* freeBox(ctx: StripContext, h: BoxHeader, label: RemovedLabel): Step<boolean> {
  ctx.report.removed(label);
  const header = Buffer.from(h.raw.subarray(0, h.headerSize));
  header.write("free", 4, "latin1");
  if (h.type === "uuid") header.fill(0, h.headerSize - 16);
  if ((yield* skip(h.headerSize)) < h.headerSize) return false;
  ctx.emit(header);
  const n = h.size - h.headerSize;
  return (yield* zeroFill(ctx, n)) === n;
}
