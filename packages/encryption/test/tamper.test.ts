import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  SecretKey,
  createDecryptStream,
  createEncryptStream,
  headerLength,
  type StreamFormat,
} from "../src/index.ts";
import { expectCode, flip, randomChunks, run, runFailing } from "./helpers.ts";

// Small segments so every kind of damage can be tried at every position quickly.
const format: StreamFormat = { segmentSize: 128, derivedKeySize: 32, hkdfHash: "sha256" };
const H = headerLength(format);
const key = SecretKey.generate();
const associatedData = "objects/tamper";
const options = { ...format, associatedData };
const plaintext = randomBytes(888); // 9 segments: 72 + 7 × 112 + 32
const ciphertext = await run(createEncryptStream(key, options), plaintext);

/** [start, end) of ciphertext segment i. */
function segment(i: number): [number, number] {
  const start = i === 0 ? H : i * format.segmentSize;
  return [start, Math.min((i + 1) * format.segmentSize, ciphertext.length)];
}
const segments = Math.ceil(ciphertext.length / format.segmentSize);

const decrypt = () => createDecryptStream(key, options);

/** Output of a failed decryption must be a prefix of the plaintext: never a forged byte. */
function expectPrefix(emitted: Buffer): void {
  expect(emitted.equals(plaintext.subarray(0, emitted.length))).toBe(true);
}

describe("a damaged ciphertext never decrypts", () => {
  it("has the shape the tests below assume", () => {
    expect(segments).toBe(9);
    expect(segment(8)[1]).toBe(ciphertext.length);
  });

  it("fails with Tampered for a flipped bit anywhere, emitting only authentic bytes", async () => {
    // Every byte of the header and of segments 0 and 8, every fifth byte elsewhere.
    const positions = [...ciphertext.keys()].filter(
      (i) => i < format.segmentSize || i >= segment(8)[0] || i % 5 === 0,
    );
    for (const i of positions) {
      const damaged = flip(Buffer.from(ciphertext), i, 1 << (i % 8));
      const { error, emitted } = await runFailing(decrypt(), randomChunks(damaged, 200));
      expect(error.code, `byte ${i}: ${error.message}`).toBe("Tampered");
      expectPrefix(emitted);
      // Nothing of the damaged segment or after it comes out.
      const damagedSegment = i < H ? 0 : Math.floor(i / format.segmentSize);
      const before =
        damagedSegment === 0 ? 0 : segment(damagedSegment)[0] - H - 16 * damagedSegment;
      expect(emitted.length).toBeLessThanOrEqual(before);
    }
  });

  it("fails for a cut at any length: Truncated at a segment boundary and inside the header", async () => {
    // Every length up to the end of segment 1 and near each boundary; every seventh elsewhere.
    const nearBoundary = (n: number) => Math.abs(((n + 64) % format.segmentSize) - 64) <= 2;
    const lengths = [...Array(ciphertext.length).keys()].filter(
      (n) => n <= 2 * format.segmentSize || nearBoundary(n) || n % 7 === 0,
    );
    for (const length of lengths) {
      const { error, emitted } = await runFailing(decrypt(), ciphertext.subarray(0, length));
      expectPrefix(emitted);
      const boundary = length >= H + 16 && length % format.segmentSize === 0;
      if (length < H || boundary) expect(error.code, `length ${length}`).toBe("Truncated");
      else expect(["Truncated", "Tampered"], `length ${length}`).toContain(error.code);
    }
  });

  it("fails with Truncated when the final segment is missing", async () => {
    await expectCode(decrypt(), ciphertext.subarray(0, segment(8)[0]), "Truncated");
    await expectCode(decrypt(), ciphertext.subarray(0, segment(5)[0]), "Truncated");
  });

  it("fails with Tampered when bytes follow the final segment", async () => {
    for (const extra of [1, 15, 16, 17, format.segmentSize]) {
      const longer = Buffer.concat([ciphertext, randomBytes(extra)]);
      const emitted = await expectCode(decrypt(), longer, "Tampered");
      expectPrefix(emitted);
    }
    // A stream that ends exactly on a full segment, extended by a byte.
    const exact = await run(
      createEncryptStream(key, options),
      randomBytes(format.segmentSize - H - 16 + 112),
    );
    expect(exact.length).toBe(2 * format.segmentSize);
    const { error } = await runFailing(decrypt(), Buffer.concat([exact, Buffer.from([0])]));
    expect(error.code).toBe("Tampered");
    expect(error.message).toMatch(/follows the final segment/);
  });

  it("fails with Tampered when two segments are swapped, duplicated or dropped", async () => {
    const parts = Array.from({ length: segments }, (_, i) => ciphertext.subarray(...segment(i)));
    const header = ciphertext.subarray(0, H);
    const join = (order: number[]) =>
      Buffer.concat([header, ...order.map((i) => parts[i] ?? Buffer.alloc(0))]);
    await expectCode(decrypt(), join([0, 2, 1, 3, 4, 5, 6, 7, 8]), "Tampered");
    await expectCode(decrypt(), join([0, 1, 2, 3, 4, 5, 7, 6, 8]), "Tampered");
    await expectCode(decrypt(), join([0, 1, 1, 2, 3, 4, 5, 6, 7, 8]), "Tampered");
    await expectCode(decrypt(), join([0, 1, 3, 4, 5, 6, 7, 8]), "Tampered");
    // The final segment moved to the end of a shorter stream still carries the wrong index.
    await expectCode(decrypt(), join([0, 1, 8]), "Tampered");
  });

  it("fails with Tampered for the wrong key, the wrong associated data or a foreign header", async () => {
    await expectCode(createDecryptStream(SecretKey.generate(), options), ciphertext, "Tampered");
    await expectCode(
      createDecryptStream(key, { ...format, associatedData: "objects/other" }),
      ciphertext,
      "Tampered",
    );
    await expectCode(createDecryptStream(key, format), ciphertext, "Tampered");
    const other = await run(createEncryptStream(key, options), plaintext);
    const spliced = Buffer.concat([other.subarray(0, H), ciphertext.subarray(H)]);
    await expectCode(decrypt(), spliced, "Tampered");
  });

  it("fails with Tampered when the header length byte is wrong (another format or offset)", async () => {
    const damaged = Buffer.from(ciphertext);
    damaged[0] = 24;
    const { error } = await runFailing(decrypt(), damaged);
    expect(error.code).toBe("Tampered");
    expect(error.message).toMatch(/header/);
  });

  it("fails with Truncated for an empty stream or a header alone", async () => {
    await expectCode(decrypt(), Buffer.alloc(0), "Truncated");
    await expectCode(decrypt(), ciphertext.subarray(0, H), "Truncated");
    await expectCode(decrypt(), ciphertext.subarray(0, H + 15), "Truncated");
  });

  it("says why without echoing key or data", async () => {
    const damaged = flip(Buffer.from(ciphertext), H + 3, 0xff);
    const { error } = await runFailing(decrypt(), damaged);
    expect(error.message).toBe(
      "Segment 0 failed authentication: altered or reordered data, a wrong key or wrong associated data.",
    );
  });
});
