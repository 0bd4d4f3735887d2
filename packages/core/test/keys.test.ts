import { describe, expect, it } from "vitest";
import {
  assertValidKey,
  assertValidPrefix,
  isStorageError,
  KeyPrefix,
  keyProblem,
  MAX_KEY_BYTES,
} from "../src/index.ts";

describe("key rules", () => {
  it.each([
    "a",
    "photos/2026/11/abc_DEF-123.jpg",
    "my file+1 (copy).png",
    "фото/写真/صورة.jpg",
    "a.b/c..d/e.",
    "x@y=z,w!",
  ])("accepts %j", (key) => {
    expect(keyProblem(key)).toBeUndefined();
  });

  it.each([
    ["", /empty/],
    ["..", /'\.'/],
    [".", /'\.'/],
    ["a/../b", /'\.'/],
    ["a/./b", /'\.'/],
    [".hidden", /'\.'/],
    ["a//b", /empty segments/],
    ["a/", /empty segments/],
    ["/abs", /start with '\/'/],
    ["a\u0000b", /not allowed/],
    ["a\\b", /not allowed/],
    ["a%2e", /not allowed/],
    ["a?b", /not allowed/],
    ["a#b", /not allowed/],
    ["a:b", /not allowed/],
    [" a", /space/],
    ["a ", /space/],
    ["x".repeat(256), /segments must be at most 255/],
    [`${"x/".repeat(600)}x`, /at most 1024 bytes/],
    ["e\u0301", /NFC/],
  ])("rejects %j", (key, why) => {
    expect(keyProblem(key)).toMatch(why);
  });

  it("rejects non-strings", () => {
    expect(keyProblem(undefined)).toMatch(/string/);
    expect(keyProblem(42)).toMatch(/string/);
  });

  it("throws InvalidKey with the offending key and operation", () => {
    let caught: unknown;
    try {
      assertValidKey("../etc/passwd", "read");
    } catch (err) {
      caught = err;
    }
    expect(isStorageError(caught, "InvalidKey")).toBe(true);
    expect(caught).toMatchObject({ operation: "read", key: "../etc/passwd" });
  });

  it("accepts list prefixes that are empty, keys, or keys ending in '/'", () => {
    expect(() => assertValidPrefix("")).not.toThrow();
    expect(() => assertValidPrefix("photos")).not.toThrow();
    expect(() => assertValidPrefix("photos/")).not.toThrow();
    expect(() => assertValidPrefix("../")).toThrow(/Invalid prefix/);
    expect(() => assertValidPrefix("a//")).toThrow(/Invalid prefix/);
    expect(() => assertValidPrefix("/")).toThrow(/Invalid prefix/);
  });
});

describe("KeyPrefix", () => {
  it("namespaces keys and strips the namespace back off", () => {
    const prefix = new KeyPrefix("/tenant-a/media/");
    expect(prefix.value).toBe("tenant-a/media/");
    expect(prefix.apply("x/y")).toBe("tenant-a/media/x/y");
    expect(prefix.strip("tenant-a/media/x/y")).toBe("x/y");
    expect(prefix.strip("tenant-b/x")).toBeUndefined();
  });

  it("is a no-op when empty and rejects invalid prefixes", () => {
    expect(new KeyPrefix().apply("k")).toBe("k");
    expect(() => new KeyPrefix("a/../b")).toThrow(/Invalid key/);
  });

  it("refuses a backend name longer than MAX_KEY_BYTES, counting the prefix", () => {
    const prefix = new KeyPrefix("tenant-a");
    const room = MAX_KEY_BYTES - "tenant-a/".length;
    expect(prefix.keyProblem("k".repeat(room))).toBeUndefined();
    expect(prefix.apply("k".repeat(room))).toHaveLength(MAX_KEY_BYTES);
    expect(prefix.keyProblem("k".repeat(room + 1))).toMatch(/once the prefix/);
    // Bytes, not characters: "é" is two bytes in UTF-8.
    expect(prefix.keyProblem("é".repeat(room / 2 + 1))).toBeDefined();
    const caught = (() => {
      try {
        prefix.assertFits("k".repeat(room + 1), "write");
      } catch (err) {
        return err;
      }
    })();
    expect(caught).toMatchObject({ name: "StorageError", code: "InvalidKey", operation: "write" });
    expect(() => prefix.apply("k".repeat(room + 1))).toThrow(/once the prefix/);
  });

  it("refuses a prefix that leaves no room for a key", () => {
    const longest = `${"p/".repeat(510)}p`; // 1021 bytes, 1022 with its "/"
    expect(new KeyPrefix(longest).keyProblem("k")).toBeUndefined();
    expect(() => new KeyPrefix(`${longest}pp`)).toThrow(/leaving room for keys/);
  });
});
