import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_FORMAT,
  SecretKey,
  createEncryptStream,
  createRangeDecryptStream,
  headerLength,
  planRange,
  type ByteRange,
  type StreamFormat,
} from "../src/index.ts";
import { chunksAt, expectCode, flip, randomChunks, run } from "./helpers.ts";

const key = SecretKey.generate();
const associatedData = "objects/range";

async function encrypted(format: StreamFormat, size: number) {
  const plaintext = randomBytes(size);
  const stage = createEncryptStream(key, { ...format, associatedData });
  const ciphertext = await run(stage, plaintext);
  return { plaintext, ciphertext, header: stage.header };
}

/** Reads a range the way the gateway would: the planned bytes, plus the header if needed. */
async function readRange(
  object: { ciphertext: Buffer; header: Buffer },
  range: ByteRange,
  format: StreamFormat,
  chunking: (data: Buffer) => Buffer[] = (data) => [data],
): Promise<Buffer> {
  const plan = planRange(object.ciphertext.length, range, format);
  const input = object.ciphertext.subarray(plan.ciphertext.start, plan.ciphertext.end + 1);
  const header = plan.headerIncluded
    ? undefined
    : object.ciphertext.subarray(0, headerLength(format));
  return run(createRangeDecryptStream(key, plan, { associatedData, header }), chunking(input));
}

describe("planRange", () => {
  const f = DEFAULT_FORMAT;
  const S = f.segmentSize;
  const first = S - 40 - 16;
  const full = S - 16;
  const size = first + 3 * full + 100; // 5 segments, a short last one
  const objectSize = 4 * S + 100 + 16;

  it("covers exactly the needed segments, from 0 when segment 0 is among them", () => {
    expect(planRange(objectSize, { start: 0, end: 0 })).toMatchObject({
      plaintextSize: size,
      firstSegment: 0,
      lastSegment: 0,
      segmentCount: 5,
      ciphertext: { start: 0, end: S - 1 },
      header: { start: 0, end: 39 },
      headerIncluded: true,
    });
    expect(planRange(objectSize, { start: first, end: first })).toMatchObject({
      firstSegment: 1,
      lastSegment: 1,
      ciphertext: { start: S, end: 2 * S - 1 },
      headerIncluded: false,
    });
    expect(planRange(objectSize, { start: first - 1, end: first })).toMatchObject({
      firstSegment: 0,
      lastSegment: 1,
      ciphertext: { start: 0, end: 2 * S - 1 },
    });
    expect(planRange(objectSize, { start: size - 1, end: size - 1 })).toMatchObject({
      firstSegment: 4,
      lastSegment: 4,
      ciphertext: { start: 4 * S, end: objectSize - 1 },
    });
    expect(planRange(objectSize, { start: 0, end: size - 1 }).ciphertext).toEqual({
      start: 0,
      end: objectSize - 1,
    });
  });

  it("refuses ranges outside the plaintext and impossible object sizes", () => {
    for (const range of [
      { start: -1, end: 0 },
      { start: 5, end: 4 },
      { start: 0, end: size },
      { start: size, end: size },
      { start: 0.5, end: 3 },
    ]) {
      expect(() => planRange(objectSize, range), JSON.stringify(range)).toThrow(
        expect.objectContaining({ code: "InvalidArgument" }),
      );
    }
    expect(() => planRange(40 + 16, { start: 0, end: 0 })).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
    expect(() => planRange(40 + 15, { start: 0, end: 0 })).toThrow(
      expect.objectContaining({ code: "Truncated" }),
    );
    expect(() => planRange(2 ** 32 * S + 17, { start: 0, end: 0 })).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
  });
});

describe("range decryption at the default 64 KiB segments", async () => {
  const f = DEFAULT_FORMAT;
  const first = f.segmentSize - 56;
  const full = f.segmentSize - 16;
  const object = await encrypted(f, first + 4 * full + 777);
  const n = object.plaintext.length;
  const b1 = first; // first byte of segment 1
  const b2 = first + full; // first byte of segment 2
  const cases: Record<string, ByteRange> = {
    "first byte": { start: 0, end: 0 },
    "last byte": { start: n - 1, end: n - 1 },
    "whole object": { start: 0, end: n - 1 },
    "inside the header-shortened segment 0": { start: 100, end: 5000 },
    "all of segment 0": { start: 0, end: b1 - 1 },
    "last byte of segment 0": { start: b1 - 1, end: b1 - 1 },
    "first byte of segment 1": { start: b1, end: b1 },
    "across the 0/1 boundary": { start: b1 - 1, end: b1 },
    "exactly segment 1": { start: b1, end: b2 - 1 },
    "segment 1 less a byte each side": { start: b1 + 1, end: b2 - 2 },
    "segment 1 plus a byte each side": { start: b1 - 1, end: b2 },
    "single byte in the last segment": { start: n - 300, end: n - 300 },
    "the whole last segment": { start: first + 4 * full, end: n - 1 },
    "from the middle to the end (bytes=N-)": { start: 150_000, end: n - 1 },
    "the final 500 bytes (bytes=-500)": { start: n - 500, end: n - 1 },
  };
  for (const [name, range] of Object.entries(cases)) {
    it(`${name} (${range.start}-${range.end})`, async () => {
      const expected = object.plaintext.subarray(range.start, range.end + 1);
      expect((await readRange(object, range, f)).equals(expected)).toBe(true);
      expect(
        (await readRange(object, range, f, (d) => randomChunks(d, 9000))).equals(expected),
      ).toBe(true);
    });
  }
});

describe("range decryption agrees with the plaintext for any range and chunking", () => {
  it("holds for small segments and random ranges", async () => {
    const format: StreamFormat = { segmentSize: 100, derivedKeySize: 32, hkdfHash: "sha256" };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1500 }),
        fc.nat(),
        fc.nat(),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }),
        async (size, a, b, cuts) => {
          const object = await encrypted(format, size);
          const start = Math.min(a % size, b % size);
          const end = Math.max(a % size, b % size);
          const out = await readRange(object, { start, end }, format, (data) =>
            chunksAt(data, cuts),
          );
          expect(out.equals(object.plaintext.subarray(start, end + 1))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("range decryption refuses what it cannot authenticate", async () => {
  const format: StreamFormat = { segmentSize: 128, derivedKeySize: 32, hkdfHash: "sha256" };
  const object = await encrypted(format, 888); // 9 segments
  const size = object.ciphertext.length;
  const stream = (plan: ReturnType<typeof planRange>, header?: Buffer) =>
    createRangeDecryptStream(key, plan, { associatedData, header });

  it("fails with Tampered on a flipped byte in a covered segment", async () => {
    const plan = planRange(size, { start: 300, end: 400 }, format);
    const input = Buffer.from(
      object.ciphertext.subarray(plan.ciphertext.start, plan.ciphertext.end + 1),
    );
    flip(input, input.length - 20);
    await expectCode(stream(plan, object.header), input, "Tampered");
  });

  it("fails with Truncated when the range input ends early", async () => {
    const plan = planRange(size, { start: 300, end: 400 }, format);
    const input = object.ciphertext.subarray(plan.ciphertext.start, plan.ciphertext.end);
    await expectCode(stream(plan, object.header), input, "Truncated");
  });

  it("fails with InvalidArgument when more input arrives than planned", async () => {
    const plan = planRange(size, { start: 300, end: 400 }, format);
    const input = object.ciphertext.subarray(plan.ciphertext.start, plan.ciphertext.end + 2);
    await expectCode(stream(plan, object.header), input, "InvalidArgument");
  });

  it("notices an object cut at a segment boundary when its end is read", async () => {
    const cut = object.ciphertext.subarray(0, 6 * format.segmentSize); // 6 of 9 segments left
    const shortened = 6 * format.segmentSize - 40 - 6 * 16;
    const plan = planRange(cut.length, { start: shortened - 1, end: shortened - 1 }, format);
    expect(plan.lastSegment).toBe(plan.segmentCount - 1);
    const input = cut.subarray(plan.ciphertext.start, plan.ciphertext.end + 1);
    await expectCode(stream(plan, object.header), input, "Truncated");
  });

  it("needs the header when the plan skips segment 0, and checks a given one against the object's", async () => {
    const later = planRange(size, { start: 300, end: 301 }, format);
    expect(() => stream(later)).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    const other = await encrypted(format, 888);
    const input = object.ciphertext.subarray(later.ciphertext.start, later.ciphertext.end + 1);
    await expectCode(stream(later, other.header), input, "Tampered");
    const early = planRange(size, { start: 0, end: 10 }, format);
    const from0 = object.ciphertext.subarray(0, early.ciphertext.end + 1);
    await expectCode(stream(early, other.header), from0, "Tampered");
    expect(await run(stream(early, object.header), from0)).toEqual(
      object.plaintext.subarray(0, 11),
    );
  });

  it("fails with Tampered under the wrong associated data", async () => {
    const plan = planRange(size, { start: 0, end: 10 }, format);
    const input = object.ciphertext.subarray(0, plan.ciphertext.end + 1);
    const wrong = createRangeDecryptStream(key, plan, { associatedData: "objects/elsewhere" });
    await expectCode(wrong, input, "Tampered");
  });
});
