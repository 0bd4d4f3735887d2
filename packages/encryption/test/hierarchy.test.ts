import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  KeyRing,
  SecretKey,
  createDecryptStream,
  createUidKey,
  decodeEnvelope,
  encodeEnvelope,
  encryptObject,
  needsRewrap,
  openObject,
  rewrapUidKey,
  unwrapUidKey,
  wrappingKeyId,
  type OpenedObject,
} from "../src/index.ts";
import { expectCode, randomChunks, run } from "./helpers.ts";

const objectKey = "u/42/2026/01/9f3c2a7e";

async function store(uidKey: SecretKey, plaintext: Buffer, associatedData = objectKey) {
  const sealed = encryptObject(uidKey, { associatedData });
  const bytes = await run(sealed.stream, randomChunks(plaintext, 50_000));
  return { bytes, envelope: sealed.envelope };
}

async function readAll(opened: OpenedObject, bytes: Buffer): Promise<Buffer> {
  return run(opened.createDecryptStream(), randomChunks(bytes, 50_000));
}

describe("the object envelope", () => {
  it("is compact ASCII that fits in object metadata, and round-trips", () => {
    const uidKey = SecretKey.generate();
    const { envelope } = encryptObject(uidKey, { associatedData: objectKey });
    expect(envelope).toMatch(/^mge1\.65536\.[0-9a-f]{12}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{54}$/);
    expect(envelope.length).toBeLessThanOrEqual(200);
    const decoded = decodeEnvelope(envelope);
    expect(decoded.wrappedDataKey.keyId).toBe(uidKey.id);
    expect(decoded.segmentSize).toBe(65536);
    expect(encodeEnvelope(decoded)).toBe(envelope);
    const { header: _header, ...withoutHeader } = decoded;
    expect(decodeEnvelope(encodeEnvelope(withoutHeader)).header).toBeUndefined();
  });

  it("refuses malformed or unknown envelopes with InvalidEnvelope", () => {
    const { envelope } = encryptObject(SecretKey.generate());
    const parts = envelope.split(".");
    const [prefix = "", , keyIdPart = "", blob = "", header = ""] = parts;
    const variants = [
      "",
      "mge2" + envelope.slice(4),
      parts.slice(0, 3).join("."),
      [...parts, "x"].join("."),
      [parts[0], "0", ...parts.slice(2)].join("."),
      [parts[0], "56", ...parts.slice(2)].join("."), // below the format minimum of 57
      [parts[0], "999999999", ...parts.slice(2)].join("."),
      [parts[0], "065536", ...parts.slice(2)].join("."),
      [prefix, "65536", keyIdPart, blob, header.slice(2)].join("."),
      [prefix, "65536", keyIdPart, blob, "!!"].join("."),
      envelope.replace(keyIdPart, "XYZ"),
    ];
    for (const bad of variants) {
      expect(() => decodeEnvelope(bad), bad).toThrow(
        expect.objectContaining({ code: "InvalidEnvelope" }),
      );
    }
  });
});

describe("encryptObject / openObject", () => {
  const uidKey = SecretKey.generate();
  const plaintext = randomBytes(300_000);

  it("reads back whole and by range, using the envelope's copy of the header", async () => {
    const { bytes, envelope } = await store(uidKey, plaintext);
    const opened = openObject(uidKey, envelope, { associatedData: objectKey });
    expect(opened.uidKeyId).toBe(uidKey.id);
    expect(opened.plaintextSize(bytes.length)).toBe(plaintext.length);
    expect((await readAll(opened, bytes)).equals(plaintext)).toBe(true);
    const plan = opened.planRange(bytes.length, { start: 200_000, end: 200_099 });
    expect(plan.headerIncluded).toBe(false);
    const part = await run(
      opened.createRangeDecryptStream(plan),
      bytes.subarray(plan.ciphertext.start, plan.ciphertext.end + 1),
    );
    expect(part).toEqual(plaintext.subarray(200_000, 200_100));
  });

  it("binds the object to its associated data and its uid key", async () => {
    const { envelope } = await store(uidKey, plaintext.subarray(0, 10));
    expect(() => openObject(uidKey, envelope, { associatedData: "u/43/other" })).toThrow(
      expect.objectContaining({ code: "Tampered" }),
    );
    expect(() => openObject(SecretKey.generate(), envelope, { associatedData: objectKey })).toThrow(
      expect.objectContaining({ code: "WrongKey" }),
    );
  });

  it("gives every object its own data key", async () => {
    const a = await store(uidKey, plaintext.subarray(0, 1000));
    const b = await store(uidKey, plaintext.subarray(0, 1000));
    expect(a.bytes.equals(b.bytes)).toBe(false);
    expect(
      decodeEnvelope(a.envelope).wrappedDataKey.blob.equals(
        decodeEnvelope(b.envelope).wrappedDataKey.blob,
      ),
    ).toBe(false);
  });
});

describe("uid keys under master keys", () => {
  it("wraps a new uid key with the newest master key, bound to the uid", () => {
    const ring = KeyRing.fromKeys([SecretKey.generate(), SecretKey.generate()]);
    const { key, wrapped } = createUidKey(ring, "42");
    expect(wrappingKeyId(wrapped)).toBe(ring.primary.id);
    expect(unwrapUidKey(ring, wrapped, "42").equals(key)).toBe(true);
    expect(() => unwrapUidKey(ring, wrapped, "43")).toThrow(
      expect.objectContaining({ code: "Tampered" }),
    );
  });

  it("rotates: re-wraps uid keys under the new master key, objects untouched, old key removable", async () => {
    const oldMaster = SecretKey.generate();
    const newMaster = SecretKey.generate();
    const before = KeyRing.fromKeys([oldMaster]);
    const { key, wrapped } = createUidKey(before, "42");
    const plaintext = randomBytes(100_000);
    const object = await store(key, plaintext);

    const during = KeyRing.fromKeys([newMaster, oldMaster]);
    expect(needsRewrap(during, wrapped)).toBe(true);
    const rewrapped = rewrapUidKey(during, wrapped, "42") ?? "";
    expect(wrappingKeyId(rewrapped)).toBe(newMaster.id);
    expect(needsRewrap(during, rewrapped)).toBe(false);
    expect(rewrapUidKey(during, rewrapped, "42")).toBeUndefined();

    const after = KeyRing.fromKeys([newMaster]);
    const uidKey = unwrapUidKey(after, rewrapped, "42");
    expect(uidKey.equals(key)).toBe(true);
    const opened = openObject(uidKey, object.envelope, { associatedData: objectKey });
    expect((await readAll(opened, object.bytes)).equals(plaintext)).toBe(true);
    // Material nobody re-wrapped is unreadable once its master key has gone.
    expect(() => unwrapUidKey(after, wrapped, "42")).toThrow(
      expect.objectContaining({ code: "WrongKey" }),
    );
  });

  it("crypto-shreds: without the uid key, no key the gateway holds opens the object", async () => {
    const masters = KeyRing.fromKeys([SecretKey.generate(), SecretKey.generate()]);
    const shared = createUidKey(masters, "");
    const neighbour = createUidKey(masters, "7");
    const erased = createUidKey(masters, "42");
    const object = await store(erased.key, randomBytes(70_000));
    // Erasure deletes `erased.wrapped` from the ledger; what is left is everything below.
    const held = [...masters.keys, shared.key, neighbour.key];
    for (const key of held) {
      expect(() => openObject(key, object.envelope, { associatedData: objectKey })).toThrow(
        expect.objectContaining({ code: "WrongKey" }),
      );
      // Even an envelope edited to name a held key does not unwrap under it…
      const forged = object.envelope.replace(erased.key.id, key.id);
      expect(() => openObject(key, forged, { associatedData: objectKey })).toThrow(
        expect.objectContaining({ code: "Tampered" }),
      );
      // …and no held key decrypts the stored bytes as if it were the data key.
      await expectCode(
        createDecryptStream(key, { associatedData: objectKey }),
        object.bytes,
        "Tampered",
      );
    }
  });
});
