import { copyFile, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStripStream, formatStripReport, type StripFormat } from "../src/index.ts";
import { addPhoneMetadata, iccProfile, makeImage } from "./helpers/fixtures.ts";
import {
  exif,
  imageDecodes,
  run,
  sensitiveTags,
  stripChunked,
  stripFile,
  tempDir,
  type TempDir,
} from "./helpers/tools.ts";

/** Every image format this machine's ImageMagick (libjpeg-turbo, libpng, libwebp, libheif) writes. */
const FORMATS: { ext: string; format: StripFormat; inPlace: boolean }[] = [
  { ext: "jpg", format: "jpeg", inPlace: false },
  { ext: "png", format: "png", inPlace: false },
  { ext: "webp", format: "webp", inPlace: false },
  { ext: "heic", format: "heic", inPlace: true },
  { ext: "avif", format: "avif", inPlace: true },
];

let tmp: TempDir;
/**
 * Fixtures are made up front with as few tool runs as possible (one convert per format, one
 * exiftool run per metadata variant over all formats): the machine is shared and slow to fork.
 */
beforeAll(async () => {
  tmp = await tempDir();
  const variants = ["phone", "chunks", "upright", "clean", "icc"];
  for (const { ext } of FORMATS) {
    const base = await makeImage(tmp, `base.${ext}`);
    for (const v of variants) await copyFile(base, tmp.path(`${v}.${ext}`));
  }
  const all = (v: string) => FORMATS.map(({ ext }) => tmp.path(`${v}.${ext}`));
  const icc = tmp.path("profile.icc");
  await writeFile(icc, iccProfile());
  await addPhoneMetadata(tmp, [...all("phone"), ...all("chunks")], 6);
  await addPhoneMetadata(tmp, all("upright"), undefined);
  await addPhoneMetadata(tmp, all("icc").slice(0, 3), 8, [`-ICC_Profile<=${icc}`]);
}, 120_000);
afterAll(async () => {
  await tmp.remove();
});

describe.concurrent.each(FORMATS)("$format from real tools", ({ ext, format, inPlace }) => {
  it("removes GPS, serial numbers, maker notes and XMP, keeps the orientation, still decodes", async () => {
    const original = tmp.path(`phone.${ext}`);
    const stripped = tmp.path(`phone-stripped.${ext}`);
    const { out, report } = await stripFile(createStripStream(), original, stripped, 1);

    const [before, after] = await exif(original, stripped);
    expect(sensitiveTags(before)).toEqual(
      expect.arrayContaining([
        "GPS:GPSLatitude",
        "ExifIFD:SerialNumber",
        "Apple:MakerNoteVersion",
        "XMP-exif:GPSLatitude",
      ]),
    );
    expect(sensitiveTags(after)).toEqual([]);
    expect(before["IFD0:Orientation"]).toBe(6);
    expect(after["IFD0:Orientation"]).toBe(6);
    await imageDecodes(stripped);

    expect(report.format).toBe(format);
    expect(report.removed).toEqual(
      expect.arrayContaining(["exif", "exif:gps", "exif:makernote", "exif:serial", "xmp"]),
    );
    expect(report.kept).toContain("orientation");
    expect(report.complete).toBe(true);
    const input = await readFile(original);
    expect(report.bytesIn).toBe(input.length);
    expect(report.bytesOut).toBe(out.length);
    if (inPlace) expect(out.length).toBe(input.length);
    else expect(out.length).toBeLessThan(input.length);
    expect(formatStripReport(report)).toMatch(
      new RegExp(`^${format} removed=exif,exif:gps,.* kept=.*orientation`),
    );
  });

  it("gives the same bytes however the input is chunked", async () => {
    const input = await readFile(tmp.path(`chunks.${ext}`));
    const first = await stripChunked(createStripStream(), input, 11);
    for (const seed of [12, 13, 14]) {
      const again = await stripChunked(createStripStream(), input, seed);
      expect(again.out.equals(first.out)).toBe(true);
    }
    const whole = await stripWhole(input);
    expect(whole.equals(first.out)).toBe(true);
  });

  it("drops the Exif entirely when it had no orientation", async () => {
    const original = tmp.path(`upright.${ext}`);
    const stripped = tmp.path(`upright-stripped.${ext}`);
    const { report } = await stripFile(createStripStream(), original, stripped, 2);
    const [after] = await exif(stripped);
    expect(sensitiveTags(after)).toEqual([]);
    expect(after["IFD0:Orientation"]).toBeUndefined();
    expect(report.kept).not.toContain("orientation");
    await imageDecodes(stripped);
  });

  it("passes a file with nothing to strip byte for byte", async () => {
    const input = await readFile(tmp.path(`clean.${ext}`));
    const { out, report } = await stripChunked(createStripStream(), input, 3);
    expect(out.equals(input)).toBe(true);
    expect(report).toMatchObject({
      format,
      removed: [],
      complete: true,
      bytesIn: input.length,
      bytesOut: input.length,
    });
  });
});

describe.concurrent.each(FORMATS.filter((f) => ["jpeg", "png", "webp"].includes(f.format)))(
  "$format colour profile",
  ({ ext }) => {
    it("keeps the ICC profile byte for byte while removing the rest", async () => {
      const original = tmp.path(`icc.${ext}`);
      const stripped = tmp.path(`icc-stripped.${ext}`);
      const { report } = await stripFile(createStripStream(), original, stripped, 4);
      const [after] = await exif(stripped);
      expect(after["ICC_Profile:ProfileCopyright"]).toBe("mediagate");
      expect(after["ICC-header:ProfileClass"]).toBe("mntr");
      expect(sensitiveTags(after)).toEqual([]);
      expect(report.kept).toEqual(expect.arrayContaining(["icc", "orientation"]));
      const extracted = await run("exiftool", ["-b", "-ICC_Profile", stripped]);
      expect(extracted.stdout.equals(iccProfile())).toBe(true);
    });
  },
);

async function stripWhole(input: Buffer): Promise<Buffer> {
  const stage = createStripStream();
  const parts: Buffer[] = [];
  stage.on("data", (c: Buffer) => parts.push(c));
  const done = new Promise((resolve, reject) => stage.on("end", resolve).on("error", reject));
  stage.end(input);
  await done;
  return Buffer.concat(parts);
}
