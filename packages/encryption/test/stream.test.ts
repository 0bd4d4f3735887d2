import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_FORMAT,
  SecretKey,
  ciphertextSize,
  createDecryptStream,
  createEncryptStream,
  headerLength,
  plaintextSize,
  type StreamFormat,
} from "../src/index.ts";
import { createEncryptStreamWithHeaderForTesting } from "../src/encrypt-stream.ts";
import { chunksAt, randomChunks, run } from "./helpers.ts";
import { referenceEncrypt } from "./reference.ts";

const key = SecretKey.generate();
const associatedData = "objects/2026/abc";
const H = headerLength(DEFAULT_FORMAT);
const FIRST = DEFAULT_FORMAT.segmentSize - H - 16; // plaintext in segment 0
const FULL = DEFAULT_FORMAT.segmentSize - 16; // plaintext in every later segment

async function roundTrip(plaintext: Buffer, chunking: (data: Buffer) => Buffer[]): Promise<Buffer> {
  const ciphertext = await run(createEncryptStream(key, { associatedData }), chunking(plaintext));
  expect(ciphertext.length).toBe(ciphertextSize(plaintext.length));
  expect(plaintextSize(ciphertext.length)).toBe(plaintext.length);
  const decrypted = await run(createDecryptStream(key, { associatedData }), chunking(ciphertext));
  expect(decrypted.equals(plaintext)).toBe(true);
  return ciphertext;
}

describe("round trips at the default 64 KiB segments", () => {
  const sizes: Record<string, number> = {
    empty: 0,
    "one byte": 1,
    "segment 0 less one": FIRST - 1,
    "exactly segment 0": FIRST,
    "segment 0 plus one": FIRST + 1,
    "two segments less one": FIRST + FULL - 1,
    "exactly two segments": FIRST + FULL,
    "two segments plus one": FIRST + FULL + 1,
    "exactly 64 KiB": 65536,
    "exactly 1 MiB": 1024 * 1024,
    "many segments and a bit": FIRST + 9 * FULL + 12345,
  };
  for (const [name, size] of Object.entries(sizes)) {
    it(`${name} (${size} bytes), whole and in random chunks`, async () => {
      const plaintext = randomBytes(size);
      await roundTrip(plaintext, (data) => [data]);
      await roundTrip(plaintext, (data) => randomChunks(data, 70_000));
      await roundTrip(plaintext, (data) => randomChunks(data, 300));
    });
  }

  it("fills segment 0 exactly when the plaintext does, with no empty trailing segment", async () => {
    const ciphertext = await roundTrip(randomBytes(FIRST), (data) => [data]);
    expect(ciphertext.length).toBe(DEFAULT_FORMAT.segmentSize);
    const two = await roundTrip(randomBytes(FIRST + 1), (data) => [data]);
    expect(two.length).toBe(DEFAULT_FORMAT.segmentSize + 1 + 16);
  });

  it("uses a fresh header (salt and nonce prefix) for every stream", () => {
    const a = createEncryptStream(key);
    const b = createEncryptStream(key);
    expect(a.header.length).toBe(H);
    expect(a.header[0]).toBe(H);
    expect(a.header.equals(b.header)).toBe(false);
  });

  it("accepts a 16-byte Tink key with AES-128 and a 4 KiB segment size", async () => {
    const short = randomBytes(16);
    const format = { segmentSize: 4096, derivedKeySize: 16 as const, hkdfHash: "sha256" as const };
    const plaintext = randomBytes(10_000);
    const ciphertext = await run(createEncryptStream(short, format), randomChunks(plaintext));
    expect(await run(createDecryptStream(short, format), randomChunks(ciphertext))).toEqual(
      plaintext,
    );
  });
});

describe("agreement with a naive whole-buffer reading of the spec", () => {
  const formats: StreamFormat[] = [
    { segmentSize: 64, derivedKeySize: 16, hkdfHash: "sha1" },
    { segmentSize: 97, derivedKeySize: 32, hkdfHash: "sha256" },
    { segmentSize: 300, derivedKeySize: 32, hkdfHash: "sha512" },
    { segmentSize: 4096, derivedKeySize: 32, hkdfHash: "sha256" },
  ];

  it("matches byte for byte for any size and chunking, and decrypts back", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...formats),
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 12 }),
        fc.array(fc.nat({ max: 3200 }), { maxLength: 12 }),
        async (format, size, plainCuts, cipherCuts) => {
          const ikm = randomBytes(32);
          const plaintext = randomBytes(size);
          const header = createEncryptStream(ikm, format).header;
          const ad = randomBytes(size % 50);
          const options = { ...format, associatedData: ad };
          const stage = createEncryptStreamWithHeaderForTesting(ikm, options, header);
          const ciphertext = await run(stage, chunksAt(plaintext, plainCuts));
          expect(ciphertext.equals(referenceEncrypt(ikm, header, plaintext, ad, format))).toBe(
            true,
          );
          expect(ciphertext.length).toBe(ciphertextSize(size, format));
          const decrypted = await run(
            createDecryptStream(ikm, options),
            chunksAt(ciphertext, cipherCuts),
          );
          expect(decrypted.equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("computes sizes both ways for every plaintext size", () => {
    const wrong: string[] = [];
    for (const format of formats) {
      let previous = -1;
      for (let size = 0; size < 5 * format.segmentSize; size += 1) {
        const objectSize = ciphertextSize(size, format);
        if (objectSize <= previous || plaintextSize(objectSize, format) !== size) {
          wrong.push(`${format.segmentSize}/${size}`);
        }
        previous = objectSize;
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("argument checks", () => {
  it("refuses segment sizes Tink refuses, and ones too large to buffer", () => {
    const at = (segmentSize: number) => () => createEncryptStream(key, { segmentSize });
    expect(at(H + 16)).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    expect(at(H + 17)).not.toThrow();
    expect(at(8 * 1024 * 1024 + 1)).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    expect(at(1000.5)).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
  });

  it("refuses keys shorter than the derived key, and over-long associated data", () => {
    for (const make of [createEncryptStream, createDecryptStream]) {
      expect(() => make(randomBytes(31))).toThrow(
        expect.objectContaining({ code: "InvalidKeyMaterial" }),
      );
      expect(() => make(randomBytes(15), { derivedKeySize: 16 })).toThrow(
        expect.objectContaining({ code: "InvalidKeyMaterial" }),
      );
    }
    expect(() => createEncryptStream(key, { associatedData: Buffer.alloc(1025) })).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
  });

  it("refuses impossible object sizes with Truncated", () => {
    for (const size of [0, 1, H, H + 15]) {
      expect(() => plaintextSize(size)).toThrow(expect.objectContaining({ code: "Truncated" }));
    }
    expect(plaintextSize(H + 16)).toBe(0);
    // A one-to-fifteen-byte tail after a full segment cannot hold a tag.
    expect(() => plaintextSize(DEFAULT_FORMAT.segmentSize + 15)).toThrow(
      expect.objectContaining({ code: "Truncated" }),
    );
    expect(() => ciphertextSize(-1)).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
  });
});

describe("segment numbering", () => {
  it("puts the 32-bit big-endian segment number and the last flag into the nonce, up to 2^32 - 1", async () => {
    const { SegmentCipher } = await import("../src/segment.ts");
    const { createCipheriv, createSecretKey, hkdfSync } = await import("node:crypto");
    const ikm = randomBytes(32);
    const header = createEncryptStream(ikm).header;
    const cipher = new SegmentCipher(
      createSecretKey(ikm),
      header,
      Buffer.from("ad"),
      DEFAULT_FORMAT,
    );
    const derived = Buffer.from(hkdfSync("sha256", ikm, header.subarray(1, 33), "ad", 32));
    const plaintext = randomBytes(100);
    for (const [index, last] of [
      [0x01020304, true],
      [2 ** 32 - 1, false],
    ] as const) {
      const nonce = Buffer.concat([
        header.subarray(33),
        Buffer.from([1, 2, 3, 4]),
        Buffer.from([last ? 1 : 0]),
      ]);
      nonce.writeUInt32BE(index, 7);
      const reference = createCipheriv("aes-256-gcm", derived, nonce);
      const expected = Buffer.concat([
        reference.update(plaintext),
        reference.final(),
        reference.getAuthTag(),
      ]);
      expect(Buffer.concat(cipher.seal(plaintext, index, last))).toEqual(expected);
      expect(cipher.open(expected, index, last)).toEqual(plaintext);
    }
    const { assertSegmentIndex } = await import("../src/format.ts");
    expect(() => assertSegmentIndex(2 ** 32)).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
  });
});
