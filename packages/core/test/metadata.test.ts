import { describe, expect, it } from "vitest";
import {
  assertValidMetadata,
  decodeMetadata,
  encodeMetadata,
  isStorageError,
  MAX_METADATA_BYTES,
} from "../src/index.ts";

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return isStorageError(err) ? err.code : "not a StorageError";
  }
  return undefined;
}

describe("metadata", () => {
  it("accepts lowercase identifier keys with string values", () => {
    expect(
      codeOf(() => assertValidMetadata({ uid: "42", original_name: "a b.jpg" })),
    ).toBeUndefined();
  });

  it.each([
    [{ "Bad-Key": "x" }],
    [{ "1abc": "x" }],
    [{ "with-dash": "x" }],
    [{ ok: 5 }],
    [null],
    [["x"]],
    [{ big: "x".repeat(MAX_METADATA_BYTES) }],
  ])("rejects %j with InvalidArgument", (metadata) => {
    expect(codeOf(() => assertValidMetadata(metadata))).toBe("InvalidArgument");
  });

  it("counts the encoded size, so unicode cannot slip past the limit", () => {
    const value = "é".repeat(400); // 800 UTF-8 bytes, 2400 once percent-encoded
    expect(codeOf(() => assertValidMetadata({ name: value }))).toBe("InvalidArgument");
  });

  it("round-trips unicode and reserved characters through the ASCII wire form", () => {
    const original = { name: "фото 1+1=2 %20 ✓.jpg", plain: "abc-123" };
    const wire = encodeMetadata(original);
    expect(Object.values(wire).every((v) => /^[\x20-\x7e]*$/.test(v))).toBe(true);
    expect(wire.plain).toBe("abc-123");
    expect(decodeMetadata(wire)).toEqual(original);
  });

  it("lower-cases keys and keeps undecodable values as stored", () => {
    expect(decodeMetadata({ Name: "%E0%A4%A", other: undefined })).toEqual({ name: "%E0%A4%A" });
  });
});
