import { writeFile } from "node:fs/promises";
import { run, type TempDir } from "./tools.ts";

/**
 * A phone-like Exif block (big-endian TIFF) for `exiftool "-EXIF<=file"`: exiftool cannot create
 * maker notes from scratch, so the block carries a small Apple maker note of its own, next to
 * Make/Model/Software, a body and a lens serial number and a GPS position.
 */
export function phoneExif(orientation: number | undefined): Buffer {
  const strings = {
    make: Buffer.from("Apple\0"),
    model: Buffer.from("iPhone 15 Pro\0"),
    software: Buffer.from("17.1.2\0"),
    body: Buffer.from("F17XK2Q9ABCD\0"),
    lens: Buffer.from("LENS-00042\0"),
  };
  // "Apple iOS\0", version 1, "MM", then an IFD with one SLONG entry (MakerNoteVersion 14).
  const makerNote = Buffer.concat([
    Buffer.from("Apple iOS\0\0\x01MM", "latin1"),
    Buffer.from("000100010009000000010000000e00000000", "hex"),
  ]);
  type Entry = [tag: number, type: number, count: number, value: Buffer | number];
  const ifd0: Entry[] = [
    [0x010f, 2, strings.make.length, strings.make],
    [0x0110, 2, strings.model.length, strings.model],
    [0x0131, 2, strings.software.length, strings.software],
  ];
  if (orientation !== undefined) ifd0.push([0x0112, 3, 1, orientation]);
  const b = Buffer.alloc(1024);
  b.write("MM\0*", 0, "latin1");
  b.writeUInt32BE(8, 4);
  let heap = 600;
  const putIfd = (at: number, entries: Entry[]) => {
    entries.sort((x, y) => x[0] - y[0]);
    b.writeUInt16BE(entries.length, at);
    entries.forEach(([tag, type, count, value], i) => {
      const e = at + 2 + i * 12;
      b.writeUInt16BE(tag, e);
      b.writeUInt16BE(type, e + 2);
      b.writeUInt32BE(count, e + 4);
      if (typeof value === "number") {
        if (type === 3) b.writeUInt16BE(value, e + 8);
        else b.writeUInt32BE(value, e + 8);
      } else if (value.length <= 4) value.copy(b, e + 8);
      else {
        value.copy(b, heap);
        b.writeUInt32BE(heap, e + 8);
        heap += value.length + (value.length & 1);
      }
    });
  };
  const rational = (...values: number[]) => {
    const r = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => r.writeUInt32BE(v, i * 4));
    return r;
  };
  const exifAt = 200;
  const gpsAt = 400;
  putIfd(8, [...ifd0, [0x8769, 4, 1, exifAt], [0x8825, 4, 1, gpsAt]]);
  putIfd(exifAt, [
    [0x927c, 7, makerNote.length, makerNote],
    [0xa431, 2, strings.body.length, strings.body],
    [0xa435, 2, strings.lens.length, strings.lens],
  ]);
  putIfd(gpsAt, [
    [0x0001, 2, 2, Buffer.from("N\0")],
    [0x0002, 5, 3, rational(48, 1, 51, 1, 3024, 100)],
    [0x0003, 2, 2, Buffer.from("E\0")],
    [0x0004, 5, 3, rational(2, 1, 17, 1, 4020, 100)],
  ]);
  return b.subarray(0, heap);
}

/** A test image by ImageMagick: plasma noise compresses like a photo, so sizes are realistic. */
export async function makeImage(
  tmp: TempDir,
  name: string,
  opts: { width?: number; height?: number; quality?: number; strip?: boolean } = {},
): Promise<string> {
  const file = tmp.path(name);
  const size = `${opts.width ?? 160}x${opts.height ?? 120}`;
  const args = [
    "-seed",
    "7",
    "-size",
    size,
    "plasma:fractal",
    "-quality",
    String(opts.quality ?? 85),
  ];
  if (opts.strip !== false) args.push("-strip", "-define", "png:exclude-chunks=date,time");
  await run("convert", [...args, file]);
  return file;
}

/** Writes GPS, serial numbers, a maker note, XMP, IPTC and a comment with exiftool (one run). */
export async function addPhoneMetadata(
  tmp: TempDir,
  files: string[],
  orientation: number | undefined,
  extra: string[] = [],
): Promise<void> {
  const block = tmp.path(`exif-${orientation ?? "none"}.tiff`);
  await writeFile(block, phoneExif(orientation));
  await run("exiftool", [
    "-q",
    "-overwrite_original",
    `-EXIF<=${block}`,
    "-XMP-exif:GPSLatitude=48.8584",
    "-XMP-exif:GPSLongitude=2.2945",
    "-XMP-photoshop:City=Paris",
    "-XMP-tiff:Make=Apple",
    "-IPTC:City=Paris",
    "-IPTC:Sub-location=Rue Cler 12",
    "-Comment=taken at home",
    ...extra,
    ...files,
  ]);
}

/**
 * A one-second H.264 clip; `location` (and with `device`, make and model) goes where ffmpeg puts
 * it for the container: MP4 udta/loci, MOV udta/©xyz/©mak/©mod. `keys` adds
 * `-movflags +use_metadata_tags` (moov/meta with keys/ilst): `"apple"` with Apple's key names as
 * an iPhone writes them, `"ffmpeg"` with ffmpeg's own tag names as keys (`location`, `make`,
 * `model`, and `location-eng` as a remux of a language-tagged ©xyz gives).
 */
export async function makeVideo(
  tmp: TempDir,
  name: string,
  opts: {
    faststart?: boolean;
    location?: string;
    device?: boolean;
    keys?: "apple" | "ffmpeg";
    bare?: boolean;
  } = {},
): Promise<string> {
  const file = tmp.path(name);
  const args = ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-t", "1"];
  args.push("-c:v", "libx264", "-pix_fmt", "yuv420p");
  const flags = [opts.faststart ? "+faststart" : "", opts.keys ? "+use_metadata_tags" : ""].join(
    "",
  );
  if (flags) args.push("-movflags", flags);
  if (opts.bare) args.push("-map_metadata", "-1", "-fflags", "+bitexact");
  const meta = (key: string, value: string) => args.push("-metadata", `${key}=${value}`);
  if (opts.location && opts.keys === "apple") {
    meta("com.apple.quicktime.location.ISO6709", opts.location);
    meta("com.apple.quicktime.make", "Apple");
    meta("com.apple.quicktime.model", "iPhone 15 Pro");
    meta("com.apple.quicktime.software", "17.1.2");
  } else if (opts.location) {
    meta("location", opts.location);
    if (opts.keys === "ffmpeg") meta("location-eng", opts.location);
    if (opts.device || opts.keys === "ffmpeg") {
      meta("make", "Apple");
      meta("model", "iPhone 15 Pro");
    }
  }
  await run("ffmpeg", [...args, file]);
  return file;
}

/** A minimal valid ICC display profile (header plus one `cprt` text tag) for `-ICC_Profile<=`. */
export function iccProfile(): Buffer {
  const b = Buffer.alloc(164);
  b.writeUInt32BE(164, 0);
  b.write("none", 4, "latin1");
  b.writeUInt32BE(0x02100000, 8);
  b.write("mntrRGB XYZ ", 12, "latin1");
  b.write("acsp", 36, "latin1");
  b.writeUInt32BE(0xf6d6, 68); // D50 illuminant
  b.writeUInt32BE(0x10000, 72);
  b.writeUInt32BE(0xd32d, 76);
  b.writeUInt32BE(1, 128);
  b.write("cprt", 132, "latin1");
  b.writeUInt32BE(144, 136);
  b.writeUInt32BE(18, 140);
  b.write("text\0\0\0\0mediagate\0", 144, "latin1");
  return b;
}
