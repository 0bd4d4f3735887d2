import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ciphertextSize,
  createDecryptStream,
  createRangeDecryptStream,
  plaintextSize,
  planRange,
  type StreamFormat,
} from "../src/index.ts";
import { createEncryptStreamWithHeaderForTesting } from "../src/encrypt-stream.ts";
import { chunksAt, expectCode, run, sha256 } from "./helpers.ts";

interface Vector {
  name: string;
  keyValue: string;
  ciphertextSegmentSize: number;
  derivedKeySize: 16 | 32;
  hkdfHashType: StreamFormat["hkdfHash"];
  plaintextUtf8: string;
  associatedDataUtf8: string;
  derivedKey: string;
  header: string;
  segments: string[];
}

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/tink-aes-gcm-hkdf-streaming.json", import.meta.url), "utf8"),
) as { vectors: Vector[] };

describe.each(fixture.vectors)("Tink published vector $name", (vector) => {
  const key = Buffer.from(vector.keyValue, "hex");
  const format = {
    segmentSize: vector.ciphertextSegmentSize,
    derivedKeySize: vector.derivedKeySize,
    hkdfHash: vector.hkdfHashType,
  };
  const options = { ...format, associatedData: vector.associatedDataUtf8 };
  const header = Buffer.from(vector.header, "hex");
  const ciphertext = Buffer.concat([header, ...vector.segments.map((s) => Buffer.from(s, "hex"))]);
  const plaintext = Buffer.from(vector.plaintextUtf8, "utf8");

  it("derives the published per-stream key (HKDF over key, salt and associated data)", () => {
    const salt = header.subarray(1, 1 + vector.derivedKeySize);
    const derived = hkdfSync(
      vector.hkdfHashType,
      key,
      salt,
      vector.associatedDataUtf8,
      vector.derivedKeySize,
    );
    expect(Buffer.from(derived).toString("hex")).toBe(vector.derivedKey);
  });

  it("decrypts the published ciphertext, however it is chunked", async () => {
    expect(await run(createDecryptStream(key, options), ciphertext)).toEqual(plaintext);
    for (let cut = 0; cut <= ciphertext.length; cut += 1) {
      const chunks = chunksAt(ciphertext, [cut, cut + 7, cut + 40]);
      expect(await run(createDecryptStream(key, options), chunks)).toEqual(plaintext);
    }
  });

  it("encrypts to exactly the published ciphertext under the published header", async () => {
    const out = await run(createEncryptStreamWithHeaderForTesting(key, options, header), plaintext);
    expect(out.toString("hex")).toBe(ciphertext.toString("hex"));
    for (let cut = 0; cut <= plaintext.length; cut += 1) {
      const stage = createEncryptStreamWithHeaderForTesting(key, options, header);
      expect(await run(stage, chunksAt(plaintext, [cut, cut + 1]))).toEqual(ciphertext);
    }
  });

  it("agrees with the published sizes", () => {
    expect(ciphertextSize(plaintext.length, format)).toBe(ciphertext.length);
    expect(plaintextSize(ciphertext.length, format)).toBe(plaintext.length);
  });

  it("serves ranges from every start to every segment edge of the published ciphertext", async () => {
    const first = vector.ciphertextSegmentSize - header.length - 16;
    const full = vector.ciphertextSegmentSize - 16;
    const edges = [first - 1, first, first + full - 1, first + full, plaintext.length - 1];
    for (let start = 0; start < plaintext.length; start += 1) {
      const ends = new Set(
        [start, start + 1, ...edges].filter((end) => end >= start && end < plaintext.length),
      );
      for (const end of ends) {
        const plan = planRange(ciphertext.length, { start, end }, format);
        const input = ciphertext.subarray(plan.ciphertext.start, plan.ciphertext.end + 1);
        const stage = createRangeDecryptStream(key, plan, { ...options, header });
        expect(await run(stage, input)).toEqual(plaintext.subarray(start, end + 1));
      }
    }
  });

  it("rejects the published ciphertext under other associated data", async () => {
    await expectCode(
      createDecryptStream(key, { ...format, associatedData: "aae" }),
      ciphertext,
      "Tampered",
    );
  });
});

describe("mediagate's production parameters (HKDF-SHA256, AES-256, 64 KiB segments)", () => {
  // Our own known answer, pinned so the format cannot drift unnoticed: computed once with this
  // implementation after it reproduced Tink's published vector above.
  const key = Buffer.from(
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "hex",
  );
  const header = Buffer.concat([Buffer.from([40]), Buffer.alloc(32, 0xa5), Buffer.alloc(7, 0x5a)]);
  const plaintext = Buffer.alloc(200_000);
  for (let i = 0; i < plaintext.length; i += 1) plaintext[i] = (i * 31 + 7) & 0xff;

  it("produces the pinned ciphertext", async () => {
    const stage = createEncryptStreamWithHeaderForTesting(
      key,
      { associatedData: "objects/pinned" },
      header,
    );
    const out = await run(stage, plaintext);
    expect(out.length).toBe(ciphertextSize(plaintext.length));
    expect(out.subarray(0, 40)).toEqual(header);
    expect(sha256(out)).toBe(PINNED_SHA256);
    expect(await run(createDecryptStream(key, { associatedData: "objects/pinned" }), out)).toEqual(
      plaintext,
    );
  });
});

const PINNED_SHA256 = "5efcd362cef7031b4eb07fcae9cc86e1ebb0f3d04060a6d22f78515f661e9568";
