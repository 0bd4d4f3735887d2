import type { ReportBuilder } from "./report.ts";

/** What a stage needs to know about an Exif block before it drops it. */
export interface ExifFacts {
  /** Orientation 2..8 when IFD0 has one; 1 (the default) and bad values count as none. */
  orientation: number | undefined;
  gps: boolean;
  makernote: boolean;
  serial: boolean;
}

const ORIENTATION = 0x0112;
const EXIF_IFD = 0x8769;
const GPS_IFD = 0x8825;
const MAKERNOTE = 0x927c;
const SERIAL_TAGS = new Set([0xa431, 0xa435, 0xc62f]);
const EXIF_HEADER = Buffer.from("Exif\0\0", "latin1");

/** Offset of the TIFF header in a block that may start with the JPEG-style `Exif\0\0` prefix. */
export function tiffStart(block: Buffer): number {
  return block.subarray(0, 6).equals(EXIF_HEADER) ? 6 : 0;
}

/**
 * Reads IFD0 (and the Exif IFD it points to) of a TIFF block, bounds-checked: the block comes
 * from the upload and may be cut short or garbled, which only makes the answer "not found".
 */
export function inspectTiff(tiff: Buffer): ExifFacts {
  const facts: ExifFacts = { orientation: undefined, gps: false, makernote: false, serial: false };
  if (tiff.length < 8) return facts;
  const order = tiff.toString("latin1", 0, 2);
  if (order !== "II" && order !== "MM") return facts;
  const le = order === "II";
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return facts;
  const entries = (ifd: number, visit: (tag: number, type: number, entry: number) => void) => {
    if (ifd < 8 || ifd + 2 > tiff.length) return;
    const count = u16(ifd);
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      if (entry + 12 > tiff.length) return;
      visit(u16(entry), u16(entry + 2), entry);
    }
  };
  let exifIfd = 0;
  entries(u32(4), (tag, type, entry) => {
    if (tag === ORIENTATION && type === 3) {
      const value = u16(entry + 8);
      if (value >= 2 && value <= 8) facts.orientation = value;
    } else if (tag === GPS_IFD) facts.gps = true;
    else if (tag === EXIF_IFD) exifIfd = u32(entry + 8);
    else if (SERIAL_TAGS.has(tag)) facts.serial = true;
  });
  entries(exifIfd, (tag) => {
    if (tag === MAKERNOTE) facts.makernote = true;
    else if (SERIAL_TAGS.has(tag)) facts.serial = true;
  });
  return facts;
}

/** Records the labels for an Exif block that is being removed. */
export function reportExif(report: ReportBuilder, facts: ExifFacts): void {
  report.removed("exif");
  if (facts.gps) report.removed("exif:gps");
  if (facts.makernote) report.removed("exif:makernote");
  if (facts.serial) report.removed("exif:serial");
}

/** A big-endian TIFF whose IFD0 holds only the Orientation tag: 26 bytes. */
export function orientationTiff(orientation: number): Buffer {
  const tiff = Buffer.alloc(26);
  tiff.write("MM\0*", 0, "latin1");
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(ORIENTATION, 10);
  tiff.writeUInt16BE(3, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  return tiff;
}

/** A big-endian TIFF with an empty IFD0: 14 bytes, read by every Exif reader as "no tags". */
export function emptyTiff(): Buffer {
  const tiff = Buffer.alloc(14);
  tiff.write("MM\0*", 0, "latin1");
  tiff.writeUInt32BE(8, 4);
  return tiff;
}

/** The smallest replacement that keeps an orientation, or an empty TIFF when there is none. */
export function replacementTiff(facts: ExifFacts): Buffer {
  return facts.orientation === undefined ? emptyTiff() : orientationTiff(facts.orientation);
}
