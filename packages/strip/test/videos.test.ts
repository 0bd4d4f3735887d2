import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIsobmffStripStream, createStripStream } from "../src/index.ts";
import { box, u16, u32 } from "./helpers/boxes.ts";
import { makeVideo } from "./helpers/fixtures.ts";
import {
  exif,
  run,
  sensitiveTags,
  stripChunked,
  formatTags,
  stripFile,
  tempDir,
  videoDecodes,
  videoProbes,
  type TempDir,
} from "./helpers/tools.ts";

const ISO6709 = "+48.8584+002.2945+035.000/";

/** Each clip as ffmpeg writes it: MP4 puts `location` in udta/loci, MOV in udta/©xyz, and
 * `use_metadata_tags` writes Apple's keys/ilst (the layout iPhones use). */
const CLIPS = [
  { name: "loci-moov-last.mp4", format: "mp4", opts: { location: ISO6709 } },
  { name: "loci-faststart.mp4", format: "mp4", opts: { location: ISO6709, faststart: true } },
  { name: "xyz-moov-last.mov", format: "mov", opts: { location: ISO6709 } },
  { name: "xyz-faststart.mov", format: "mov", opts: { location: ISO6709, faststart: true } },
  { name: "keys-moov-last.mov", format: "mov", opts: { location: ISO6709, keys: "apple" } },
  {
    name: "keys-faststart.mov",
    format: "mov",
    opts: { location: ISO6709, keys: "apple", faststart: true },
  },
] as const;

/**
 * ffmpeg's own tag names as QuickTime keys (`-movflags +use_metadata_tags -metadata location=…
 * -metadata make=… -metadata model=…`), as the gateway gets them from anything remuxed by
 * ffmpeg; and plain `-metadata location=…` with make and model, which ffmpeg writes to udta
 * (MOV: ©xyz, ©mak, ©mod; MP4: loci, make and model dropped).
 */
const FFMPEG_CLIPS = [
  {
    name: "ffmpeg-keys-moov-last.mp4",
    format: "mp4",
    opts: { location: ISO6709, keys: "ffmpeg" },
    before: ["Keys:Location", "Keys:Location-eng", "Keys:Make", "Keys:Model"],
    removed: ["location", "device"],
    encoderKept: true,
  },
  {
    name: "ffmpeg-keys-faststart.mov",
    format: "mov",
    opts: { location: ISO6709, keys: "ffmpeg", faststart: true },
    before: ["Keys:Location", "Keys:Location-eng", "Keys:Make", "Keys:Model"],
    removed: ["location", "device"],
    encoderKept: true,
  },
  {
    name: "udta-device-moov-last.mov",
    format: "mov",
    opts: { location: ISO6709, device: true },
    before: ["UserData:GPSCoordinates", "UserData:Make", "UserData:Model"],
    removed: ["location", "device"],
    encoderKept: false, // MOV user data has it in ©swr, which goes with the device boxes
  },
  {
    name: "udta-device-faststart.mp4",
    format: "mp4",
    opts: { location: ISO6709, device: true, faststart: true },
    before: ["UserData:LocationInformation"],
    removed: ["location"],
    encoderKept: true,
  },
] as const;

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir();
  await Promise.all([...CLIPS, ...FFMPEG_CLIPS].map((c) => makeVideo(tmp, c.name, c.opts)));
  await makeVideo(tmp, "xmp.mp4", { location: ISO6709 });
  // exiftool adds XMP (a top-level uuid box), udta ©xyz/©mak and a moov/meta keys GPS entry.
  await run("exiftool", [
    "-q",
    "-overwrite_original",
    "-XMP-exif:GPSLatitude=48.8584",
    "-XMP-exif:GPSLongitude=2.2945",
    "-XMP-photoshop:City=Paris",
    "-UserData:GPSCoordinates=48.8584, 2.2945",
    "-UserData:Make=Apple",
    "-UserData:Model=iPhone 15 Pro",
    "-Keys:GPSCoordinates=48.8584, 2.2945",
    tmp.path("xmp.mp4"),
  ]);
  await Promise.all([
    makeVideo(tmp, "bare.mp4", { bare: true }),
    makeVideo(tmp, "bare.mov", { bare: true, faststart: true }),
  ]);
}, 120_000);
afterAll(async () => {
  await tmp.remove();
});

describe.concurrent.each(CLIPS)("$name", ({ name, format }) => {
  it("overwrites location and device data in place; the whole video still decodes", async () => {
    const original = tmp.path(name);
    const stripped = tmp.path(`stripped-${name}`);
    const { out, report } = await stripFile(createStripStream(), original, stripped, 21);
    const input = await readFile(original);

    const [before, after] = await exif(original, stripped);
    expect(sensitiveTags(before).some((t) => /GPS|Location/.test(t))).toBe(true);
    expect(sensitiveTags(after)).toEqual([]);
    expect(after["Composite:GPSPosition"]).toBeUndefined();
    expect(await videoDecodes(stripped)).toBe("");
    expect(out.length).toBe(input.length);
    expect(report).toMatchObject({
      format,
      complete: true,
      bytesIn: input.length,
      bytesOut: input.length,
    });
    expect(report.removed).toContain("location");
  });
});

describe.concurrent.each(FFMPEG_CLIPS)("$name as ffmpeg writes it", (clip) => {
  it("overwrites every location, make and model entry; ffprobe and ffmpeg still read it", async () => {
    const original = tmp.path(clip.name);
    const stripped = tmp.path(`stripped-${clip.name}`);
    const { out, report } = await stripFile(createStripStream(), original, stripped, 23);
    const input = await readFile(original);

    const [before, after] = await exif(original, stripped);
    expect(sensitiveTags(before)).toEqual(expect.arrayContaining([...clip.before]));
    expect(sensitiveTags(after)).toEqual([]);
    expect(Object.keys(after).filter((t) => /gps|location|xyz/i.test(t))).toEqual([]);
    expect(out.includes("+48.8584")).toBe(false);
    // What ffmpeg itself reads back: no location, make or model; the encoder tag (©too or an
    // `encoder` key) is kept.
    const tags = await formatTags(stripped);
    expect(Object.keys(tags).filter((t) => /location|make|model/i.test(t))).toEqual([]);
    if (clip.encoderKept) expect(tags["encoder"]).toMatch(/^Lavf/);
    expect(await videoProbes(stripped)).toBe("");
    expect(await videoDecodes(stripped)).toBe("");
    expect(out.length).toBe(input.length);
    expect(report).toMatchObject({
      format: clip.format,
      removed: [...clip.removed],
      complete: true,
      bytesIn: input.length,
      bytesOut: input.length,
    });
  });
});

describe("MP4 with XMP, user data and keys added by exiftool", () => {
  it("overwrites all of them and reports each kind", async () => {
    const original = tmp.path("xmp.mp4");
    const stripped = tmp.path("stripped-xmp.mp4");
    const { report } = await stripFile(createIsobmffStripStream(), original, stripped, 22);
    const [before, after] = await exif(original, stripped);
    expect(sensitiveTags(before)).toEqual(
      expect.arrayContaining([
        "XMP-exif:GPSLatitude",
        "UserData:GPSCoordinates",
        "Keys:GPSCoordinates",
        "UserData:Make",
      ]),
    );
    expect(sensitiveTags(after)).toEqual([]);
    expect(await videoDecodes(stripped)).toBe("");
    expect(report.removed).toEqual(["xmp", "location", "device"]);
  });

  it("gives the same bytes however the input is chunked", async () => {
    const input = await readFile(tmp.path("xmp.mp4"));
    const first = await stripChunked(createStripStream(), input, 1);
    for (const seed of [2, 3, 4, 5]) {
      expect((await stripChunked(createStripStream(), input, seed)).out.equals(first.out)).toBe(
        true,
      );
    }
  });
});

/** A GPMF KLV entry (GoPro's telemetry format): key, type, struct size, repeat, padded data. */
function klv(key: string, type: string, size: number, repeat: number, data: Buffer): Buffer {
  const head = Buffer.concat([Buffer.from(key + type, "latin1"), Buffer.from([size]), u16(repeat)]);
  return Buffer.concat([head, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}

/**
 * A GoPro's moov/udta, as a HERO9 writes it: firmware, lens serial, a hash of the camera's
 * serial, a per-file ID (MUID), and a GPMF record naming the camera's serial and model. No
 * tool here writes these, so they are added to a real ffmpeg clip whose moov comes last.
 */
function withGoProUserData(clip: Buffer, muid: Buffer): Buffer {
  const device = Buffer.concat([
    klv("DVID", "L", 4, 1, u32(1)),
    klv("DVNM", "c", 6, 1, Buffer.from("Camera")),
    klv("CASN", "c", 14, 1, Buffer.from("C3441325012345")),
    klv("MINF", "c", 11, 1, Buffer.from("HERO9 Black")),
  ]);
  const udta = box(
    "udta",
    box("FIRM", Buffer.from("HD9.01.01.60.00")),
    box("LENS", Buffer.from("LAJ9052412345678")),
    box("CAME", Buffer.from("8d4c1e0f2a7b93e65f10c2d7a9b4e381", "hex")),
    box("MUID", muid),
    box("GPMF", klv("DEVC", "\0", 1, device.length, device)),
  );
  let at = 0;
  while (clip.toString("latin1", at + 4, at + 8) !== "moov") at += clip.readUInt32BE(at);
  const size = clip.readUInt32BE(at);
  if (at + size !== clip.length) throw new Error("the clip's moov is not last");
  return Buffer.concat([
    clip.subarray(0, at),
    u32(size + udta.length),
    clip.subarray(at + 4),
    udta,
  ]);
}

describe("MP4 with a GoPro camera's user data", () => {
  it("overwrites the serial numbers, model, lens and firmware; keeps the file's own ID", async () => {
    const muid = Buffer.from(
      "5f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
      "hex",
    );
    const original = tmp.path("gopro.mp4");
    const stripped = tmp.path("stripped-gopro.mp4");
    await writeFile(original, withGoProUserData(await readFile(tmp.path("bare.mp4")), muid));
    const { out, report } = await stripFile(createStripStream(), original, stripped, 23);
    const camera = [
      "UserData:FirmwareVersion",
      "UserData:LensSerialNumber",
      "UserData:SerialNumberHash",
      "GoPro:CameraSerialNumber",
      "GoPro:Model",
    ];
    const [before, after] = await exif(original, stripped);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(camera));
    expect(Object.keys(after).filter((k) => camera.includes(k) || k.startsWith("GoPro:"))).toEqual(
      [],
    );
    expect(sensitiveTags(after)).toEqual([]);
    expect(out.includes("C3441325012345")).toBe(false);
    expect(out.includes(muid)).toBe(true);
    expect(out.length).toBe((await readFile(original)).length);
    expect(await videoDecodes(stripped)).toBe("");
    expect(report).toMatchObject({ removed: ["device"], complete: true });
  });
});

describe.concurrent.each(["bare.mp4", "bare.mov"])("%s with nothing to strip", (name) => {
  it("passes byte for byte", async () => {
    const input = await readFile(tmp.path(name));
    const { out, report } = await stripChunked(createStripStream(), input, 7);
    expect(out.equals(input)).toBe(true);
    expect(report).toMatchObject({ removed: [], complete: true });
  });
});
