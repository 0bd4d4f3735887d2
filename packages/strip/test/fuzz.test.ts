import { readFile } from "node:fs/promises";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStripStream, detectFamily, isStripError, type StripOptions } from "../src/index.ts";
import { box, exifItem, fullBox, ftypHeic, iinf, iloc } from "./helpers/boxes.ts";
import { addPhoneMetadata, makeImage, makeVideo, phoneExif } from "./helpers/fixtures.ts";
import { stripChunked, tempDir, type TempDir } from "./helpers/tools.ts";

/** Runs per property; STRIP_FUZZ_RUNS=20000 for a long stress run. */
const RUNS = Number(process.env.STRIP_FUZZ_RUNS ?? 120);

let tmp: TempDir;
const seeds: Buffer[] = [];
beforeAll(async () => {
  tmp = await tempDir();
  const images = await Promise.all(
    ["jpg", "png", "webp", "heic"].map((ext) =>
      makeImage(tmp, `s.${ext}`, { width: 48, height: 32 }),
    ),
  );
  await addPhoneMetadata(tmp, images, 6);
  const videos = await Promise.all([
    makeVideo(tmp, "s.mp4", { location: "+48.8584+002.2945/" }),
    makeVideo(tmp, "s.mov", { location: "+48.8584+002.2945/", keys: "apple", faststart: true }),
    makeVideo(tmp, "e.mov", { location: "+48.8584+002.2945/", keys: "apple" }),
  ]);
  for (const file of [...images, ...videos]) seeds.push(await readFile(file));
  // Hand-made HEIF with its Exif item in idat: item tables the tools here do not write.
  const item = exifItem(phoneExif(6));
  const meta = fullBox(
    "meta",
    0,
    iinf([
      [1, "Exif"],
      [2, "mime"],
    ]),
    iloc([
      [1, 1, 0, item.length],
      [2, 0, 0, 9],
    ]),
    box("idat", item),
  );
  seeds.push(Buffer.concat([ftypHeic(), meta]));
}, 120_000);
afterAll(async () => {
  await tmp.remove();
});

type Mutation =
  | { kind: "cut"; at: number }
  | { kind: "flip"; at: number; value: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bytes: fc.uint8Array({ maxLength: 40 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.integer({ min: 1, max: 64 }),
  }),
);

function mutate(data: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(data);
  for (const m of mutations) {
    const at = Math.floor(m.at * out.length);
    if (m.kind === "cut") out = out.subarray(0, at);
    else if (m.kind === "flip" && at < out.length) out.writeUInt8(m.value, at);
    else if (m.kind === "insert")
      out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    else if (m.kind === "delete")
      out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
  }
  return out;
}

/**
 * What must hold for any input: no crash and no hang; counters match; the output does not depend
 * on how the input was chunked; ISO BMFF never changes length; and `onMalformed: "error"`
 * fails exactly when the passing mode reports an incomplete strip, never with Internal.
 */
async function checkInvariants(
  input: Buffer,
  seedA: number,
  seedB: number,
  options: StripOptions = {},
) {
  const a = await stripChunked(createStripStream(options), input, seedA);
  expect(a.report.bytesIn).toBe(input.length);
  expect(a.report.bytesOut).toBe(a.out.length);
  const b = await stripChunked(createStripStream(options), input, seedB);
  expect(b.out.equals(a.out)).toBe(true);
  expect(b.report).toEqual(a.report);
  if (detectFamily(input.subarray(0, 16)) === "isobmff") expect(a.out.length).toBe(input.length);
  if (a.report.format === "other") expect(a.out.equals(input)).toBe(true);
  const strict = await stripChunked(
    createStripStream({ ...options, onMalformed: "error" }),
    input,
    seedA,
  ).then(
    (r) => r,
    (err: unknown) => err,
  );
  if (a.report.complete) {
    expect(strict).toMatchObject({ report: a.report });
  } else {
    expect(isStripError(strict)).toBe(true);
    expect(isStripError(strict, "Internal")).toBe(false);
  }
}

describe("fuzz", () => {
  it("survives truncated, garbled and spliced real files", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.integer(),
        fc.integer(),
        fc.boolean(),
        async (pick, mutations, seedA, seedB, smallHold) => {
          const input = mutate(seeds[pick % seeds.length] ?? Buffer.alloc(0), mutations);
          await checkInvariants(input, seedA, seedB, smallHold ? { webpHoldLimit: 256 } : {});
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("survives random bytes behind every magic number it knows", async () => {
    const magic = fc.constantFrom(
      Buffer.from([0xff, 0xd8, 0xff]),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from("RIFF\x40\0\0\0WEBPVP8X", "latin1"),
      Buffer.from("RIFF\xf0\xff\xff\x7fWEBPVP8X", "latin1"),
      Buffer.from("RIFF\xf0\xff\xff\x7fWEBPVP8X\0\0\0\0", "latin1"),
      Buffer.from("\0\0\0\x18ftypheic\0\0\0\0mif1heic", "latin1"),
      Buffer.from("\0\0\0\x10ftypqt  \0\0\0\0", "latin1"),
      Buffer.from("\0\0\0\0moov", "latin1"),
      Buffer.from("\0\0\0\0moov\0\0\x01\0udta\0\0\0\xf0meta\0\0\0\0", "latin1"),
      Buffer.from("\0\0\0\x10ftypheic\0\0\0\0\0\0\x01\0meta\0\0\0\0", "latin1"),
    );
    await fc.assert(
      fc.asyncProperty(
        magic,
        fc.uint8Array({ maxLength: 600 }),
        fc.integer(),
        fc.integer(),
        async (head, tail, a, b) => {
          await checkInvariants(Buffer.concat([head, tail]), a, b);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("passes anything without a known magic number byte for byte", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.integer(), async (bytes, seed) => {
        const input = Buffer.from(bytes);
        fc.pre(detectFamily(input.subarray(0, 16)) === "other");
        const { out, report } = await stripChunked(createStripStream(), input, seed);
        expect(out.equals(input)).toBe(true);
        expect(report).toMatchObject({ format: "other", complete: true });
      }),
      { numRuns: RUNS },
    );
  });
});
