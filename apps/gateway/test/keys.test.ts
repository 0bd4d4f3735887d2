import { describe, expect, it } from "vitest";
import { isObjectKey, keyExtension, newObjectKey, safeExtension } from "../src/upload/keys.ts";

describe("object keys", () => {
  it("lead with random digits, then the date, and are recognised as the gateway's own", () => {
    const key = newObjectKey(".jpg", new Date("2026-03-04T23:59:59Z"));
    expect(key).toMatch(/^([0-9a-f]{2})\/2026\/03\/04\/\1[0-9a-f]{38}\.jpg$/);
    expect(isObjectKey(key)).toBe(true);
    expect(isObjectKey(key.replace(".jpg", ".JPG"))).toBe(false);
    expect(isObjectKey(`../${key}`)).toBe(false);
    // The lead must be the random part's own first digits.
    const other = key.startsWith("00") ? "01" : "00";
    expect(isObjectKey(other + key.slice(2))).toBe(false);
  });

  it("of the earlier date-first layout stay valid for downloads", () => {
    expect(isObjectKey(`2026/03/04/${"ab".repeat(20)}.jpg`)).toBe(true);
    expect(isObjectKey(`2026/03/04/${"ab".repeat(20)}`)).toBe(true);
    expect(isObjectKey(`2026/03/04/${"ab".repeat(19)}.jpg`)).toBe(false);
  });

  it("spread over the 256 leading prefixes", () => {
    const leads = new Set(Array.from({ length: 4096 }, () => newObjectKey("").slice(0, 2)));
    expect(leads.size).toBeGreaterThan(240);
  });

  it("take the detected type's extension when the name has none or contradicts it", () => {
    expect(keyExtension("noname", "jpg")).toBe(".jpg");
    expect(keyExtension("blob", "png")).toBe(".png");
    expect(keyExtension("photo.jpg", "png")).toBe(".png");
    expect(keyExtension("photo.JPEG", "jpg")).toBe(".jpeg");
    expect(keyExtension("clip.mov", "mov")).toBe(".mov");
    expect(keyExtension("notes.txt", undefined)).toBe(".txt");
    expect(keyExtension(undefined, undefined)).toBe("");
  });

  it("never repeat, across many draws of the entropy they are cut from", () => {
    // 128 keys come from one draw: 1000 keys span several, and a bug that reused or
    // misaligned a draw would repeat a key or leave a zeroed (spent) one behind.
    const randoms = Array.from({ length: 1000 }, () => newObjectKey("").split("/")[4]);
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
