import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createIsobmffStripStream,
  createJpegStripStream,
  createStripStream,
  formatStripReport,
  isStripError,
} from "../src/index.ts";
import { keyLabel } from "../src/isobmff/rules.ts";
import { box, exifItem, fullBox, ftypHeic, iinf, iloc, u32 } from "./helpers/boxes.ts";
import { addPhoneMetadata, makeImage, phoneExif } from "./helpers/fixtures.ts";
import { exif, sensitiveTags, stripChunked, tempDir, type TempDir } from "./helpers/tools.ts";

let tmp: TempDir;
let phoneJpeg: Buffer;
let png: Buffer;
beforeAll(async () => {
  tmp = await tempDir();
  const file = await makeImage(tmp, "phone.jpg");
  await addPhoneMetadata(tmp, [file], 6);
  phoneJpeg = await readFile(file);
  png = await readFile(await makeImage(tmp, "clean.png"));
}, 60_000);
afterAll(async () => {
  await tmp.remove();
});

async function failure(
  stage: ReturnType<typeof createStripStream>,
  input: Buffer,
): Promise<unknown> {
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  return pipeline(Readable.from([input]), stage, sink).then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe("input the stage does not strip", () => {
  it("passes random bytes (client-side encrypted media looks like this) byte for byte", async () => {
    const input = randomBytes(200_000);
    input[4] = 0; // keep the random bytes from spelling a box type by chance
    const { out, report } = await stripChunked(createStripStream(), input, 41);
    expect(out.equals(input)).toBe(true);
    expect(report).toMatchObject({
      format: "other",
      removed: [],
      complete: true,
      bytesIn: 200_000,
      bytesOut: 200_000,
    });
  });

  it("ends an empty stream with an empty output", async () => {
    const { out, report } = await stripChunked(createStripStream(), Buffer.alloc(0), 42);
    expect(out.length).toBe(0);
    expect(report).toMatchObject({ format: "other", complete: true, bytesIn: 0, bytesOut: 0 });
  });

  it("refuses a hold limit that is not a byte count", () => {
    expect(() => createStripStream({ webpHoldLimit: -1 })).toThrow(RangeError);
    expect(() => createStripStream({ webpHoldLimit: 1.5 })).toThrow(RangeError);
  });

  it("lets a single-format stage pass another format untouched", async () => {
    const { out, report } = await stripChunked(createJpegStripStream(), png, 43);
    expect(out.equals(png)).toBe(true);
    expect(report.format).toBe("other");
  });
});

describe("malformed input", () => {
  it("strips what came before a cut inside the Exif and says the file was truncated", async () => {
    const exifAt = phoneJpeg.indexOf("Exif\0\0", 0, "latin1") - 4;
    const input = phoneJpeg.subarray(0, exifAt + 100);
    const { out, report } = await stripChunked(createStripStream(), input, 44);
    expect(out.equals(phoneJpeg.subarray(0, exifAt))).toBe(true);
    expect(report).toMatchObject({
      format: "jpeg",
      complete: false,
      reason: "truncated",
      bytesIn: input.length,
    });
    expect(formatStripReport(report)).toBe("jpeg incomplete=truncated");
  });

  it("fails the stream with Malformed when asked to", async () => {
    const input = phoneJpeg.subarray(0, phoneJpeg.indexOf("Exif\0\0", 0, "latin1") + 50);
    const err = await failure(createStripStream({ onMalformed: "error" }), input);
    expect(isStripError(err, "Malformed")).toBe(true);
  });

  it("passes the rest untouched from the point where a JPEG stops making sense", async () => {
    const garbage = Buffer.from("this is not a marker segment at all");
    const head = Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x06, 0x61, 0x62, 0x63, 0x64]); // SOI, COM
    const { out, report } = await stripChunked(
      createStripStream(),
      Buffer.concat([head, garbage]),
      45,
    );
    expect(out.equals(Buffer.concat([head.subarray(0, 2), garbage]))).toBe(true);
    expect(report).toMatchObject({ complete: false, reason: "malformed", removed: ["comment"] });
  });

  it("keeps every size when an ISO BMFF child claims more than its parent holds", async () => {
    const xyz = box("\u00a9xyz", Buffer.from("\0\x12\x15\xc7+48.8584+002.2945/", "latin1"));
    const bad = Buffer.concat([u32(4000), Buffer.from("trak"), Buffer.alloc(16)]);
    const input = Buffer.concat([
      box("ftyp", Buffer.from("qt  \0\0\0\0qt  ")),
      box("moov", box("udta", xyz), bad),
      box("mdat", randomBytes(64)),
    ]);
    const { out, report } = await stripChunked(createStripStream(), input, 46);
    expect(out.length).toBe(input.length);
    expect(out.includes("+48.8584")).toBe(false);
    const from = input.indexOf(bad);
    expect(out.subarray(from).equals(input.subarray(from))).toBe(true);
    expect(report).toMatchObject({
      format: "mov",
      removed: ["location"],
      complete: false,
      reason: "malformed",
    });
  });
});

describe("hand-made QuickTime", () => {
  it("accepts the 32-bit zero that may close a udta", async () => {
    const xyz = box("\u00a9xyz", Buffer.from("\0\x12\x15\xc7+48.8584+002.2945/", "latin1"));
    const udta = box("udta", xyz, Buffer.alloc(4));
    const input = Buffer.concat([
      box("ftyp", Buffer.from("qt  \0\0\0\0qt  ")),
      box("moov", udta, box("free")),
    ]);
    const { out, report } = await stripChunked(createStripStream(), input, 49);
    expect(out.includes("+48.8584")).toBe(false);
    expect(report).toMatchObject({ format: "mov", removed: ["location"], complete: true });
  });
});

describe("QuickTime metadata key names", () => {
  it("judges a key by what its name means, not by Apple's full names only", () => {
    const location = [
      "location",
      "LOCATION",
      "location-eng",
      "com.apple.quicktime.location.ISO6709",
      "com.apple.quicktime.location.name",
      "com.apple.quicktime.location.accuracy.horizontal",
      "com.example.camera.location",
      "com.example.gps.position",
      "GPSCoordinates",
      "\u00a9xyz",
      "loci",
    ];
    const device = [
      "make",
      "Model",
      "make-eng",
      "com.apple.quicktime.make",
      "com.apple.quicktime.model",
      "com.apple.quicktime.software",
      "com.apple.quicktime.camera.lens_model",
      "com.android.manufacturer",
      "com.android.model",
      "com.android.version",
      "com.example.serial_number",
      "\u00a9mak",
      "\u00a9mod",
    ];
    const kept = [
      "encoder",
      "title",
      "creation_time",
      "com.apple.quicktime.creationdate",
      "com.apple.quicktime.content.identifier",
      "com.apple.quicktime.camera.identifier",
      "com.android.capture.fps",
      "major_brand",
    ];
    expect(location.filter((k) => keyLabel(k) !== "location")).toEqual([]);
    expect(device.filter((k) => keyLabel(k) !== "device")).toEqual([]);
    expect(kept.filter((k) => keyLabel(k) !== undefined)).toEqual([]);
  });
});

/** A QuickTime file whose moov/meta holds the given children (keys, ilst…) after an mdta hdlr. */
function quicktimeMeta(...children: Buffer[]): Buffer {
  const hdlr = fullBox("hdlr", 0, u32(0), Buffer.from("mdta"), Buffer.alloc(13));
  return Buffer.concat([
    box("ftyp", Buffer.from("qt  \0\0\0\0qt  ")),
    box("moov", box("meta", hdlr, ...children)),
    box("mdat", randomBytes(64)),
  ]);
}

/** A keys box: [namespace, name] per key. */
function keysBox(keys: [string, string][]): Buffer {
  const entries = keys.map(([ns, name]) => box(ns, Buffer.from(name, "latin1")));
  return fullBox("keys", 0, u32(keys.length), ...entries);
}

/** An ilst with one item per [key index, UTF-8 value]. */
function ilstBox(items: [number, string][]): Buffer {
  const entries = items.map(([index, value]) =>
    Buffer.concat([
      u32(24 + Buffer.byteLength(value)),
      u32(index),
      box("data", u32(1), u32(0), Buffer.from(value)),
    ]),
  );
  return box("ilst", ...entries);
}

describe("hand-made QuickTime keys", () => {
  const where = "+48.8584+002.2945/";

  it("overwrites a key in the udta namespace (a ©xyz code) like an mdta one", async () => {
    const input = quicktimeMeta(
      keysBox([
        ["udta", "\u00a9xyz"],
        ["mdta", "title"],
      ]),
      ilstBox([
        [1, where],
        [2, "holiday"],
      ]),
    );
    const { out, report } = await stripChunked(createStripStream(), input, 50);
    expect(out.length).toBe(input.length);
    expect(out.includes(where)).toBe(false);
    expect(out.includes("holiday")).toBe(true);
    expect(report).toMatchObject({ format: "mov", removed: ["location"], complete: true });
  });

  it("reports items that come before their keys box as unreachable", async () => {
    const input = quicktimeMeta(ilstBox([[1, where]]), keysBox([["mdta", "location"]]));
    const { out, report } = await stripChunked(createStripStream(), input, 51);
    expect(out.equals(input)).toBe(true);
    expect(report).toMatchObject({ removed: [], complete: false, reason: "unreachable" });
    const err = await failure(createStripStream({ onMalformed: "error" }), input);
    expect(isStripError(err, "Unreachable")).toBe(true);
  });

  it("reports an item whose key index the keys box does not hold as malformed", async () => {
    const input = quicktimeMeta(
      keysBox([["mdta", "make"]]),
      ilstBox([
        [1, "Apple"],
        [2, where],
      ]),
    );
    const { out, report } = await stripChunked(createStripStream(), input, 52);
    expect(out.length).toBe(input.length);
    expect(out.includes("Apple")).toBe(false);
    expect(report).toMatchObject({ removed: ["device"], complete: false, reason: "malformed" });
    const err = await failure(createStripStream({ onMalformed: "error" }), input);
    expect(isStripError(err, "Malformed")).toBe(true);
  });
});

describe("hand-made HEIF", () => {
  it("overwrites an Exif item stored in idat (construction method 1), keeping the orientation", async () => {
    const item = exifItem(phoneExif(8));
    const meta = fullBox(
      "meta",
      0,
      fullBox("hdlr", 0, u32(0), Buffer.from("pict"), Buffer.alloc(13)),
      iinf([[1, "Exif"]]),
      iloc([[1, 1, 0, item.length]]),
      box("idat", item),
    );
    const input = Buffer.concat([ftypHeic(), meta]);
    const { out, report } = await stripChunked(createIsobmffStripStream(), input, 47);
    // exiftool 12.57 cannot read Exif from idat, so it reads the item's TIFF as a .tif file.
    const at = input.indexOf("idat", 0, "latin1") + 4;
    const tiffOf = (file: Buffer) =>
      file.subarray(at + 4 + file.readUInt32BE(at), at + item.length);
    const original = tmp.path("idat-item.tif");
    const stripped = tmp.path("idat-item-stripped.tif");
    await writeFile(original, tiffOf(input));
    await writeFile(stripped, tiffOf(out));
    const [before, after] = await exif(original, stripped);
    expect(sensitiveTags(before)).toEqual(
      expect.arrayContaining(["GPS:GPSLatitude", "ExifIFD:SerialNumber"]),
    );
    expect(sensitiveTags(after)).toEqual([]);
    expect(after["IFD0:Orientation"]).toBe(8);
    expect(out.length).toBe(input.length);
    expect(report).toMatchObject({ format: "heic", kept: ["orientation"], complete: true });
  });

  it("reports an Exif item that lies before its item table as unreachable", async () => {
    const item = exifItem(phoneExif(6));
    const ftyp = ftypHeic();
    const mdat = box("mdat", item);
    const meta = fullBox(
      "meta",
      0,
      iinf([[1, "Exif"]]),
      iloc([[1, 0, ftyp.length + 8, item.length]]),
    );
    const input = Buffer.concat([ftyp, mdat, meta]);
    const { out, report } = await stripChunked(createStripStream(), input, 48);
    expect(out.equals(input)).toBe(true);
    expect(report).toMatchObject({ format: "heic", complete: false, reason: "unreachable" });
    const err = await failure(createStripStream({ onMalformed: "error" }), input);
    expect(isStripError(err, "Unreachable")).toBe(true);
  });
});
