import { describe, expect, it } from "vitest";
import {
  assertValidMetadata,
  decodeMetadata,
  encodeMetadata,
  isStorageError,
  MAX_METADATA_BYTES,
  memoizeFinalMetadata,
  resolveFinalMetadata,
  StorageError,
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

describe("resolveFinalMetadata", () => {
  it("returns a copy of the start metadata when there is no finalMetadata", () => {
    const metadata = { uid: "1" };
    const resolved = resolveFinalMetadata({ metadata, finalMetadata: undefined });
    expect(resolved).toEqual({ uid: "1" });
    expect(resolved).not.toBe(metadata);
  });

  it("merges the final metadata over the start metadata", () => {
    expect(
      resolveFinalMetadata({
        metadata: { uid: "1", size: "?" },
        finalMetadata: () => ({ size: "5", sha256: "ab" }),
      }),
    ).toEqual({ uid: "1", size: "5", sha256: "ab" });
  });

  it("turns a throwing callback into InvalidArgument, keeping the cause", () => {
    const cause = new Error("no digest");
    let caught: unknown;
    try {
      resolveFinalMetadata(
        {
          metadata: {},
          finalMetadata: () => {
            throw cause;
          },
        },
        "a/b",
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StorageError);
    expect(caught).toMatchObject({ code: "InvalidArgument", key: "a/b", cause });
  });

  it("refuses final metadata that breaks the rules alone or once merged", () => {
    const resolve = (final: unknown, metadata = {}) =>
      codeOf(() =>
        resolveFinalMetadata({ metadata, finalMetadata: () => final as Record<string, string> }),
      );
    expect(resolve({ "Bad-Key": "x" })).toBe("InvalidArgument");
    expect(resolve(null)).toBe("InvalidArgument");
    expect(resolve({ n: 5 })).toBe("InvalidArgument");
    const half = "x".repeat(MAX_METADATA_BYTES / 2);
    expect(resolve({ b: half })).toBeUndefined();
    expect(resolve({ b: half }, { a: half })).toBe("InvalidArgument");
  });

  it("memoizes: the callback runs once, later calls repeat its value or its error", () => {
    let calls = 0;
    const once = memoizeFinalMetadata(() => ({ n: String(++calls) }));
    expect([once(), once()]).toEqual([{ n: "1" }, { n: "1" }]);
    const failing = memoizeFinalMetadata(() => {
      calls += 1;
      throw new Error("boom");
    });
    expect(() => failing()).toThrow("boom");
    expect(() => failing()).toThrow("boom");
    expect(calls).toBe(2);
  });
});
