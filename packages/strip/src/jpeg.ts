import { Confused, pass, peek, read, skip, type StripContext, type Step } from "./ops.ts";
import { inspectTiff, orientationTiff, reportExif } from "./exif.ts";
import { patchMpf } from "./mpf.ts";
import type { KeptLabel, RemovedLabel } from "./report.ts";

/**
 * JPEG: walks the marker segments up to the first SOS and drops every APPn/COM segment that can
 * carry location or device data. Kept: APP0 (JFIF/JFXX), APP2 ICC_PROFILE and MPF, APP14 Adobe
 * (decoders need it for the colour transform) and all non-APP segments. When the dropped Exif
 * had an orientation other than 1, a 36-byte APP1 holding only that tag takes its place. From SOS
 * on the scan data passes untouched.
 */
type Action =
  | { kind: "keep"; label?: KeptLabel }
  | { kind: "drop"; label: RemovedLabel }
  | { kind: "exif" }
  | { kind: "mpf" };

interface MpfHold {
  segment: Buffer;
  /** Net bytes removed before the MPF segment was seen. */
  removedBefore: number;
}

interface State {
  /** Net bytes removed so far (inserted bytes count negative). */
  removed: number;
  orientationWritten: boolean;
  mpf: MpfHold | undefined;
}

/** Bytes of the segment a stage looks at to classify it: marker, length and identifier. */
const CLASSIFY_BYTES = 4 + 36;
/** Segments held after an MPF segment until SOS, so its offsets can still be fixed. */
const MPF_HOLD_LIMIT = 1024 * 1024;

export function* stripJpeg(ctx: StripContext): Step<void> {
  const sig = yield* peek(3);
  if (sig.length < 3 || sig[0] !== 0xff || sig[1] !== 0xd8 || sig[2] !== 0xff) return;
  ctx.report.format = "jpeg";
  yield* pass(2);
  const state: State = { removed: 0, orientationWritten: false, mpf: undefined };
  try {
    yield* segments(ctx, state);
  } finally {
    releaseMpf(ctx, state);
  }
}

function* segments(ctx: StripContext, state: State): Step<void> {
  for (;;) {
    const head = yield* peek(4);
    if (head.length < 2) {
      ctx.incomplete("truncated", "JPEG ended before its image data");
      return;
    }
    if (head[0] !== 0xff) throw new Confused("malformed", "JPEG: expected a marker");
    const marker = head.readUInt8(1);
    if (marker === 0xff) {
      yield* pass(1); // fill byte before a marker
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return; // SOS or EOI: the rest passes
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      yield* pass(2);
      continue;
    }
    if (marker === 0x00 || marker === 0xd8) throw new Confused("malformed", "JPEG: bad marker");
    if (head.length < 4) {
      ctx.incomplete("truncated", "JPEG ended inside a segment header");
      return;
    }
    const total = 2 + head.readUInt16BE(2);
    if (total < 4) throw new Confused("malformed", "JPEG: segment length below 2");
    if (!(yield* segment(ctx, state, marker, total))) {
      ctx.incomplete("truncated", "JPEG ended inside a segment");
      return;
    }
    if (state.mpf && ctx.heldBytes > MPF_HOLD_LIMIT) {
      ctx.incomplete("limit", "JPEG: headers after the MPF segment exceed the hold limit");
      return;
    }
  }
}

/** Handles one segment; false when the input ended inside it. */
function* segment(ctx: StripContext, state: State, marker: number, total: number): Step<boolean> {
  if (marker < 0xe0 && marker !== 0xfe) return (yield* pass(total)) === total;
  const head = yield* peek(Math.min(total, CLASSIFY_BYTES));
  const action = classify(marker, head.subarray(4));
  if (action.kind === "keep") {
    if (action.label) ctx.report.kept(action.label);
    return (yield* pass(total)) === total;
  }
  if (action.kind === "drop") {
    ctx.report.removed(action.label);
    state.removed += total;
    return (yield* skip(total)) === total;
  }
  const whole = yield* read(total);
  if (whole.length < total) {
    if (action.kind === "mpf") ctx.emit(whole); // a cut MPF segment is not metadata to drop
    return false;
  }
  if (action.kind === "mpf") {
    ctx.report.kept("mpf");
    if (!state.mpf) {
      state.mpf = { segment: Buffer.from(whole), removedBefore: state.removed };
      ctx.startHold();
      ctx.emit(state.mpf.segment);
    } else ctx.emit(whole);
    return true;
  }
  const facts = inspectTiff(whole.subarray(10));
  reportExif(ctx.report, facts);
  state.removed += total;
  if (facts.orientation !== undefined && !state.orientationWritten) {
    const app1 = orientationApp1(facts.orientation);
    ctx.emit(app1);
    ctx.report.kept("orientation");
    state.removed -= app1.length;
    state.orientationWritten = true;
  }
  return true;
}

function classify(marker: number, id: Buffer): Action {
  const starts = (prefix: string) => id.toString("latin1", 0, prefix.length) === prefix;
  switch (marker) {
    case 0xe0:
      return { kind: "keep" };
    case 0xe1:
      if (starts("Exif\0")) return { kind: "exif" };
      if (
        starts("http://ns.adobe.com/xap/1.0/\0") ||
        starts("http://ns.adobe.com/xmp/extension/\0")
      ) {
        return { kind: "drop", label: "xmp" };
      }
      return { kind: "drop", label: "app" };
    case 0xe2:
      if (starts("ICC_PROFILE\0")) return { kind: "keep", label: "icc" };
      if (starts("MPF\0")) return { kind: "mpf" };
      return { kind: "drop", label: "app" };
    case 0xeb:
      // APP11 "JP": JUMBF boxes, where C2PA manifests (and their location assertions) live.
      return { kind: "drop", label: starts("JP") ? "c2pa" : "app" };
    case 0xed:
      return { kind: "drop", label: starts("Photoshop 3.0\0") ? "iptc" : "app" };
    case 0xee:
      return starts("Adobe") ? { kind: "keep" } : { kind: "drop", label: "app" };
    case 0xfe:
      return { kind: "drop", label: "comment" };
    default:
      return { kind: "drop", label: "app" };
  }
}

function orientationApp1(orientation: number): Buffer {
  const tiff = orientationTiff(orientation);
  const head = Buffer.from([0xff, 0xe1, 0, 0, 0x45, 0x78, 0x69, 0x66, 0, 0]);
  head.writeUInt16BE(2 + 6 + tiff.length, 2);
  return Buffer.concat([head, tiff]);
}

function releaseMpf(ctx: StripContext, state: State): void {
  const mpf = state.mpf;
  if (!mpf) return;
  state.mpf = undefined;
  patchMpf(mpf.segment, state.removed - mpf.removedBefore, state.removed);
  ctx.endHold();
}
