import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJpegStripStream, createStripStream } from "../src/index.ts";
import { addPhoneMetadata, makeImage } from "./helpers/fixtures.ts";
import {
  exif,
  imageDecodes,
  run,
  sensitiveTags,
  stripChunked,
  tempDir,
  type TempDir,
} from "./helpers/tools.ts";

let tmp: TempDir;
let clean: Buffer;
let phone: Buffer;
let second: Buffer;
beforeAll(async () => {
  tmp = await tempDir();
  clean = await readFile(await makeImage(tmp, "clean.jpg"));
  const phoneFile = await makeImage(tmp, "phone.jpg", { width: 200 });
  await addPhoneMetadata(tmp, [phoneFile], 6);
  phone = await readFile(phoneFile);
  second = await readFile(await makeImage(tmp, "second.jpg", { width: 48, height: 32 }));
}, 60_000);
afterAll(async () => {
  await tmp.remove();
});

function first<T>(items: T[], match: (item: T) => boolean): T {
  const found = items.find(match);
  if (found === undefined) throw new Error("fixture lacks the expected segment");
  return found;
}

/** Offsets of the marker segments before SOS: [marker, start, total length]. */
function segments(jpeg: Buffer): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let at = 2; jpeg.readUInt8(at + 1) !== 0xda;) {
    const total = 2 + jpeg.readUInt16BE(at + 2);
    out.push([jpeg.readUInt8(at + 1), at, total]);
    at += total;
  }
  return out;
}

function segment(marker: number, body: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** An APP2 MPF segment (CIPA DC-007) listing the primary image and one more after it. */
function mpfSegment(primaryLength: number, secondLength: number, secondOffset: number): Buffer {
  const tiff = Buffer.alloc(82);
  tiff.write("II*\0", 0, "latin1");
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(3, 8);
  const entry = (i: number, tag: number, type: number, count: number, value: number) => {
    const e = 10 + i * 12;
    tiff.writeUInt16LE(tag, e);
    tiff.writeUInt16LE(type, e + 2);
    tiff.writeUInt32LE(count, e + 4);
    tiff.writeUInt32LE(value, e + 8);
  };
  entry(0, 0xb000, 7, 4, 0x30303130); // "0100"
  entry(1, 0xb001, 4, 1, 2);
  entry(2, 0xb002, 7, 32, 50);
  tiff.writeUInt32LE(0x20030000, 50); // representative, baseline primary image
  tiff.writeUInt32LE(primaryLength, 54);
  tiff.writeUInt32LE(0x00020002, 66); // disparity image
  tiff.writeUInt32LE(secondLength, 70);
  tiff.writeUInt32LE(secondOffset, 74);
  return segment(0xe2, Buffer.concat([Buffer.from("MPF\0", "latin1"), tiff]));
}

describe("JPEG", () => {
  it("moves the MPF offsets with the segments removed after it, so the second image is still found", async () => {
    // Real layout: the MPF segment follows the Exif, and XMP, IPTC and the comment follow it.
    const [, exifStart, exifTotal] = first(segments(phone), ([m]) => m === 0xe1);
    const at = exifStart + exifTotal;
    const mpfLength = mpfSegment(0, 0, 0).length;
    const primaryLength = phone.length + mpfLength;
    const mpf = mpfSegment(primaryLength, second.length, primaryLength - (at + 8));
    const input = Buffer.concat([phone.subarray(0, at), mpf, phone.subarray(at), second]);
    const original = tmp.path("mpf.jpg");
    const stripped = tmp.path("mpf-stripped.jpg");
    await writeFile(original, input);
    const { out, report } = await stripChunked(createStripStream(), input, 5);
    await writeFile(stripped, out);

    const before = await run("exiftool", ["-b", "-MPImage2", original]);
    const after = await run("exiftool", ["-b", "-MPImage2", stripped]);
    expect(before.stdout.equals(second)).toBe(true);
    expect(after.stdout.equals(second)).toBe(true);
    const [tags] = await exif(stripped);
    expect(sensitiveTags(tags)).toEqual([]);
    expect(tags["IFD0:Orientation"]).toBe(6);
    const primary = out.length - second.length;
    expect(tags["MPImage1:MPImageLength"]).toBe(primary);
    expect(tags["MPImage2:MPImageStart"]).toBe(primary);
    expect(tags["MPImage2:MPImageLength"]).toBe(second.length);
    expect(report.kept).toEqual(["orientation", "mpf"]);
    expect(out.subarray(out.length - second.length).equals(second)).toBe(true);
    await imageDecodes(stripped);
  });

  it("drops C2PA (APP11 JUMBF), APP12 and FlashPix APP2 segments and leaves everything else as it was", async () => {
    const [, app0Start, app0Total] = first(segments(clean), ([m]) => m === 0xe0);
    const at = app0Start + app0Total;
    const extra = Buffer.concat([
      segment(0xeb, Buffer.from("JP\0\x01\0\0\0\x01\0\0\0\x10jumbc2pa", "latin1")),
      segment(0xec, Buffer.from("Ducky\0\x01\0\0\0\x50", "latin1")),
      segment(0xe2, Buffer.from("FPXR\0\0\0\0", "latin1")),
      segment(0xfe, Buffer.from("shot with Foo Cam", "latin1")),
      Buffer.from([0xff, 0xff]), // fill bytes before the next marker are allowed
    ]);
    const input = Buffer.concat([clean.subarray(0, at), extra, clean.subarray(at)]);
    const { out, report } = await stripChunked(createJpegStripStream(), input, 6);
    const fill = Buffer.from([0xff, 0xff]);
    expect(out.equals(Buffer.concat([clean.subarray(0, at), fill, clean.subarray(at)]))).toBe(true);
    expect(report.removed).toEqual(["comment", "app", "c2pa"]);
  });

  it("keeps the Adobe APP14 segment a CMYK JPEG needs to decode", async () => {
    const cmyk = tmp.path("cmyk.jpg");
    await run("convert", [
      "-seed",
      "3",
      "-size",
      "64x48",
      "plasma:fractal",
      "-colorspace",
      "CMYK",
      cmyk,
    ]);
    await addPhoneMetadata(tmp, [cmyk], undefined);
    const stripped = tmp.path("cmyk-stripped.jpg");
    const { out } = await stripChunked(createStripStream(), await readFile(cmyk), 8);
    await writeFile(stripped, out);
    const [tags] = await exif(stripped);
    expect(tags["Adobe:ColorTransform"]).toBe(2);
    expect(sensitiveTags(tags)).toEqual([]);
    expect(
      Object.keys(tags).filter((k) => k.startsWith("IFD0:") || k.startsWith("ExifIFD:")),
    ).toEqual([]);
    await imageDecodes(stripped);
  });

  it("writes no Exif back for orientation 1 (the default)", async () => {
    const file = tmp.path("upright.jpg");
    await writeFile(file, clean);
    await addPhoneMetadata(tmp, [file], 1);
    const { out, report } = await stripChunked(createStripStream(), await readFile(file), 9);
    expect(out.equals(clean)).toBe(true);
    expect(report.kept).toEqual([]);
  });
});
