import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStripStream, createWebpStripStream, type StripStream } from "../src/index.ts";
import { addPhoneMetadata, makeImage } from "./helpers/fixtures.ts";
import {
  exif,
  imageDecodes,
  sensitiveTags,
  stripChunked,
  tempDir,
  type TempDir,
} from "./helpers/tools.ts";

let tmp: TempDir;
let phone: Buffer;
let upright: Buffer;
beforeAll(async () => {
  tmp = await tempDir();
  const a = await makeImage(tmp, "phone.webp", { width: 240, height: 180 });
  const b = await makeImage(tmp, "upright.webp", { width: 240, height: 180 });
  await addPhoneMetadata(tmp, [a], 6);
  await addPhoneMetadata(tmp, [b], undefined);
  [phone, upright] = await Promise.all([readFile(a), readFile(b)]);
}, 60_000);
afterAll(async () => {
  await tmp.remove();
});

function chunks(webp: Buffer): { fourcc: string; size: number }[] {
  const out: { fourcc: string; size: number }[] = [];
  for (let at = 12; at + 8 <= webp.length;) {
    const size = webp.readUInt32LE(at + 4);
    out.push({ fourcc: webp.toString("latin1", at, at + 4), size });
    at += 8 + size + (size & 1);
  }
  return out;
}

/** VP8X flags: the byte after its 8-byte chunk header. */
const flags = (webp: Buffer) => webp.readUInt8(12 + 8);
const EXIF_FLAG = 0x08;
const XMP_FLAG = 0x04;

/** Writes the first half of the input and tells how many bytes came out before the rest. */
async function outputBeforeEnd(stage: StripStream, input: Buffer): Promise<number> {
  let seen = 0;
  stage.on("data", (c: Buffer) => (seen += c.length));
  const ended = new Promise((resolve, reject) => stage.on("end", resolve).on("error", reject));
  const half = Math.floor(input.length / 2);
  for (let at = 0; at < half; at += 512) stage.write(input.subarray(at, Math.min(at + 512, half)));
  await new Promise((resolve) => setImmediate(resolve));
  const early = seen;
  stage.end(input.subarray(half));
  await ended;
  return early;
}

async function checkWithTools(out: Buffer, name: string, orientation: number | undefined) {
  const file = tmp.path(name);
  await writeFile(file, out);
  const [tags] = await exif(file);
  expect(sensitiveTags(tags)).toEqual([]);
  expect(tags["IFD0:Orientation"]).toBe(orientation);
  await imageDecodes(file);
}

describe("WebP within the hold limit (rewrite)", () => {
  it("cuts the EXIF and XMP chunks out and fixes the RIFF size and the VP8X flags", async () => {
    expect(chunks(phone).map((c) => c.fourcc)).toEqual(
      expect.arrayContaining(["VP8X", "EXIF", "XMP "]),
    );
    expect(flags(phone) & (EXIF_FLAG | XMP_FLAG)).toBe(EXIF_FLAG | XMP_FLAG);
    const { out, report } = await stripChunked(createStripStream(), phone, 31);
    expect(out.readUInt32LE(4)).toBe(out.length - 8);
    expect(chunks(out).map((c) => c.fourcc)).not.toContain("XMP ");
    expect(chunks(out).find((c) => c.fourcc === "EXIF")?.size).toBe(26);
    expect(flags(out) & (EXIF_FLAG | XMP_FLAG)).toBe(EXIF_FLAG);
    expect(report).toMatchObject({
      format: "webp",
      kept: ["orientation"],
      bytesIn: phone.length,
      bytesOut: out.length,
    });
    await checkWithTools(out, "rewrite.webp", 6);
  });

  it("clears the EXIF flag too when no orientation had to be kept", async () => {
    const { out } = await stripChunked(createStripStream(), upright, 32);
    expect(
      chunks(out)
        .map((c) => c.fourcc)
        .filter((f) => f === "EXIF" || f === "XMP "),
    ).toEqual([]);
    expect(flags(out) & (EXIF_FLAG | XMP_FLAG)).toBe(0);
    await checkWithTools(out, "rewrite-upright.webp", undefined);
  });

  it("holds the output back until the end of the file", async () => {
    expect(await outputBeforeEnd(createWebpStripStream(), phone)).toBe(0);
  });
});

describe("WebP above the hold limit (in place)", () => {
  const options = { webpHoldLimit: 1024 };

  it("keeps every size, neutralises XMP as JUNK and leaves an orientation-only EXIF", async () => {
    const { out, report } = await stripChunked(createStripStream(options), phone, 33);
    expect(out.length).toBe(phone.length);
    expect(out.readUInt32LE(4)).toBe(phone.readUInt32LE(4));
    const before = chunks(phone);
    const after = chunks(out);
    expect(after.map((c) => c.size)).toEqual(before.map((c) => c.size));
    expect(after.map((c) => c.fourcc)).toEqual(
      before.map((c) => (c.fourcc === "XMP " ? "JUNK" : c.fourcc)),
    );
    expect(flags(out) & (EXIF_FLAG | XMP_FLAG)).toBe(EXIF_FLAG);
    expect(report).toMatchObject({ format: "webp", kept: ["orientation"], bytesOut: phone.length });
    await checkWithTools(out, "in-place.webp", 6);
  });

  it("leaves an EXIF with no tag when there was no orientation", async () => {
    const { out } = await stripChunked(createStripStream(options), upright, 34);
    expect(out.length).toBe(upright.length);
    await checkWithTools(out, "in-place-upright.webp", undefined);
  });

  it("streams: output comes out before the input has ended", async () => {
    expect(await outputBeforeEnd(createWebpStripStream(options), phone)).toBeGreaterThan(0);
  });
});
