import { describe, expect, it } from "vitest";
import { isObjectKey, newObjectKey, safeExtension } from "../src/upload/keys.ts";

describe("object keys", () => {
  it("are dated, random, and recognised as the gateway's own", () => {
    const key = newObjectKey("Photo.JPG", new Date("2026-03-04T23:59:59Z"));
    expect(key).toMatch(/^2026\/03\/04\/[0-9a-f]{40}\.jpg$/);
    expect(isObjectKey(key)).toBe(true);
    expect(isObjectKey(key.replace(".jpg", ".JPG"))).toBe(false);
    expect(isObjectKey(`../${key}`)).toBe(false);
  });

  it("never repeat, across many draws of the entropy they are cut from", () => {
    // 128 keys come from one draw: 1000 keys span several, and a bug that reused or
    // misaligned a draw would repeat a key or leave a zeroed (spent) one behind.
    const randoms = Array.from({ length: 1000 }, () => newObjectKey(undefined).split("/")[3]);
    expect(new Set(randoms).size).toBe(randoms.length);
    for (const random of randoms) {
      expect(random).toMatch(/^[0-9a-f]{40}$/);
      expect(random).not.toMatch(/0{16}/);
    }
  });

  it("keep only a short, safe extension", () => {
    expect(safeExtension("a.tar.GZ")).toBe(".gz");
    expect(safeExtension("noext")).toBe("");
    expect(safeExtension("evil.ph p")).toBe("");
    expect(safeExtension("x.abcdefghijk")).toBe("");
    expect(safeExtension(undefined)).toBe("");
  });
});
