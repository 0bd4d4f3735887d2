import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  EncryptionError,
  KeyRing,
  SecretKey,
  decodeWrappedKey,
  encodeWrappedKey,
  generateMasterKey,
  keyId,
  unwrapKey,
  wrapKey,
  wrappingKeyId,
} from "../src/index.ts";
import { flip } from "./helpers.ts";

const b64 = () => randomBytes(32).toString("base64");

function parseError(text: string): EncryptionError {
  try {
    KeyRing.parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(EncryptionError);
    return err as EncryptionError;
  }
  throw new Error("expected KeyRing.parse to fail");
}

describe("key ids", () => {
  it("are 12 hex digits of a labelled SHA-256: stable, and not a prefix of the plain hash", () => {
    const key = Buffer.alloc(32, 7);
    expect(keyId(key)).toBe(keyId(Buffer.alloc(32, 7)));
    expect(keyId(key)).toMatch(/^[0-9a-f]{12}$/);
    // sha256("mediagate/key-id/v1\0" || key)[0..6], computed independently with Python's hashlib.
    expect(keyId(key)).toBe("c0c0c8f361b9");
    expect(keyId(key)).not.toBe("4bb06f8e4e3a"); // the first 6 bytes of the plain SHA-256
    expect(keyId(Buffer.alloc(32, 8))).not.toBe(keyId(key));
  });

  it("are all a SecretKey shows of itself", () => {
    const key = SecretKey.generate();
    const raw = key.exportBytes();
    for (const shown of [
      inspect(key),
      String(key),
      JSON.stringify({ key }),
      inspect({ nested: key }),
    ]) {
      expect(shown).toContain(key.id);
      expect(shown).not.toContain(raw.toString("base64"));
      expect(shown).not.toContain(raw.toString("hex"));
    }
  });

  it("generateMasterKey gives a base64 32-byte key and its id", () => {
    const { id, base64 } = generateMasterKey();
    const ring = KeyRing.parse(base64);
    expect(ring.primary.id).toBe(id);
    expect(Buffer.from(base64, "base64")).toHaveLength(32);
  });
});

describe("KeyRing.parse", () => {
  it("reads ENCRYPTION_KEYS: base64 keys, newest first, commas and spaces", () => {
    const [a, b, c] = [b64(), b64(), b64()];
    const ring = KeyRing.parse(` ${a}, ${b} ,${c}`);
    expect(ring.ids).toEqual([a, b, c].map((k) => keyId(Buffer.from(k, "base64"))));
    expect(ring.primary.id).toBe(ring.ids[0]);
    expect(ring.get(ring.ids[2] ?? "")?.exportBytes()).toEqual(Buffer.from(c, "base64"));
    expect(ring.has("000000000000")).toBe(false);
  });

  it("reads a key file: one per line, CRLF, comments, blank lines, base64url, no padding", () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const file = `# mediagate master keys, newest first\r\n\r\n${a.toString("base64url")}\r\n  ${b.toString("base64")}  # added 2025\n\n`;
    const ring = KeyRing.parse(file, { name: "the key file /etc/mediagate/keys" });
    expect(ring.ids).toEqual([keyId(a), keyId(b)]);
  });

  it("explains each mistake in one sentence that never repeats the entry", () => {
    const good = b64();
    const cases: [string, RegExp][] = [
      ["", /^ENCRYPTION_KEYS has no key\.$/],
      ["  ,\n# only a comment\n", /^ENCRYPTION_KEYS has no key\.$/],
      [`${good},not*base64`, /^ENCRYPTION_KEYS entry 2 is not base64; /],
      [randomBytes(32).toString("hex"), /^ENCRYPTION_KEYS entry 1 looks like hex; /],
      [randomBytes(24).toString("base64"), /^ENCRYPTION_KEYS entry 1 decodes to 24 bytes; /],
      [randomBytes(33).toString("base64"), /^ENCRYPTION_KEYS entry 1 decodes to 33 bytes; /],
      [
        Buffer.alloc(32).toString("base64"),
        /^ENCRYPTION_KEYS entry 1 repeats one byte, so it is a placeholder/,
      ],
      [
        `${good},${b64()},${good}`,
        /^ENCRYPTION_KEYS lists key [0-9a-f]{12} twice \(entries 1 and 3\)\.$/,
      ],
      [good.slice(0, 42) + "B=", /^ENCRYPTION_KEYS entry 1 is not canonical base64; /],
    ];
    for (const [input, message] of cases) {
      const error = parseError(input);
      expect(error.code).toBe("InvalidKeyMaterial");
      expect(error.message).toMatch(message);
      expect(error.message.split(". ").length, error.message).toBe(1);
      for (const entry of input.split(/[\s,]+/).filter((e) => e.length >= 8)) {
        expect(error.message).not.toContain(entry.slice(0, 8));
      }
    }
  });

  it("builds from keys directly and refuses an empty list", () => {
    const ring = KeyRing.fromKeys([randomBytes(32), SecretKey.generate()]);
    expect(ring.keys).toHaveLength(2);
    expect(() => KeyRing.fromKeys([])).toThrow(
      expect.objectContaining({ code: "InvalidKeyMaterial" }),
    );
    expect(() => SecretKey.fromBytes(randomBytes(16))).toThrow(
      expect.objectContaining({ code: "InvalidKeyMaterial" }),
    );
    expect(inspect(ring)).toBe(`KeyRing(${ring.ids.join(", ")})`);
  });
});

describe("wrapKey / unwrapKey", () => {
  const wrapping = SecretKey.generate();
  const inner = SecretKey.generate();
  const options = { purpose: "uid-key", context: "user-42" };

  it("round-trips, directly and through its 98-character string form", () => {
    const wrapped = wrapKey(wrapping, inner, options);
    expect(wrapped.keyId).toBe(wrapping.id);
    expect(unwrapKey(wrapping, wrapped, options).equals(inner)).toBe(true);
    const text = encodeWrappedKey(wrapped);
    expect(text).toMatch(/^mgw1\.[0-9a-f]{12}\.[A-Za-z0-9_-]{80}$/);
    expect(wrappingKeyId(text)).toBe(wrapping.id);
    expect(unwrapKey(wrapping, text, options).equals(inner)).toBe(true);
    expect(decodeWrappedKey(text)).toEqual(wrapped);
  });

  it("uses a fresh nonce every time", () => {
    expect(
      wrapKey(wrapping, inner, options).blob.equals(wrapKey(wrapping, inner, options).blob),
    ).toBe(false);
  });

  it("fails with Tampered for a flipped bit anywhere, another purpose or another context", () => {
    const wrapped = wrapKey(wrapping, inner, options);
    for (let i = 0; i < wrapped.blob.length * 8; i += 1) {
      const blob = flip(Buffer.from(wrapped.blob), i >> 3, 1 << (i & 7));
      expect(() => unwrapKey(wrapping, { ...wrapped, blob }, options)).toThrow(
        expect.objectContaining({ code: "Tampered" }),
      );
    }
    expect(() => unwrapKey(wrapping, wrapped, { ...options, purpose: "data-key" })).toThrow(
      expect.objectContaining({ code: "Tampered" }),
    );
    expect(() => unwrapKey(wrapping, wrapped, { ...options, context: "user-43" })).toThrow(
      expect.objectContaining({ code: "Tampered" }),
    );
    expect(() => unwrapKey(wrapping, wrapped, { purpose: "uid-key" })).toThrow(
      expect.objectContaining({ code: "Tampered" }),
    );
  });

  it("fails with WrongKey when the wrapping key is not held, naming only ids", () => {
    const wrapped = wrapKey(wrapping, inner, options);
    const other = SecretKey.generate();
    expect(() => unwrapKey(other, wrapped, options)).toThrow(
      expect.objectContaining({ code: "WrongKey" }),
    );
    const ring = KeyRing.fromKeys([other, SecretKey.generate()]);
    expect(() => unwrapKey(ring, wrapped, options)).toThrow(
      expect.objectContaining({ code: "WrongKey", message: expect.stringContaining(wrapping.id) }),
    );
    // A forged id that names a held key still has to authenticate under it.
    expect(() => unwrapKey(other, { ...wrapped, keyId: other.id }, options)).toThrow(
      expect.objectContaining({ code: "Tampered" }),
    );
  });

  it("refuses malformed strings with InvalidEnvelope and bad purposes with InvalidArgument", () => {
    const text = encodeWrappedKey(wrapKey(wrapping, inner, options));
    for (const bad of [
      "",
      "mgw1",
      text.replace("mgw1", "mgw2"),
      text.slice(0, -1),
      `${text}.x`,
      text.replace(".", ".Z"),
    ]) {
      expect(() => decodeWrappedKey(bad), bad).toThrow(
        expect.objectContaining({ code: "InvalidEnvelope" }),
      );
    }
    expect(() => wrapKey(wrapping, inner, { purpose: "Uid Key" })).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
  });
});
