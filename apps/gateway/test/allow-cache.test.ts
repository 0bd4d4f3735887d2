import { describe, expect, it } from "vitest";
import { AllowCache } from "../src/auth/allow-cache.ts";

describe("the webhook's allow cache", () => {
  it("keys entries by a hash, never the raw token", () => {
    const key = AllowCache.key("app-secret-token", "42");
    expect(key).not.toContain("app-secret-token");
    expect(key).toBe(AllowCache.key("app-secret-token", "42"));
    expect(key).not.toBe(AllowCache.key("app-secret-token", "43"));
    // The separator keeps "ab"+"1" apart from "a"+"b1".
    expect(AllowCache.key("ab", "1")).not.toBe(AllowCache.key("a", "b1"));
  });

  it("forgets an entry when its time is up", () => {
    const cache = new AllowCache(1000, 10);
    cache.add("k", 0);
    expect(cache.has("k", 999)).toBe(true);
    expect(cache.has("k", 1000)).toBe(false);
  });

  it("holds at most its size, dropping the oldest first", () => {
    const cache = new AllowCache(60_000, 3);
    for (const key of ["a", "b", "c", "d"]) cache.add(key, 0);
    expect(["a", "b", "c", "d"].map((k) => cache.has(k, 1))).toEqual([false, true, true, true]);
    cache.add("b", 2); // refreshed: now the newest
    cache.add("e", 3);
    expect(["b", "c", "d", "e"].map((k) => cache.has(k, 4))).toEqual([true, false, true, true]);
  });

  it("remembers nothing with a TTL of 0", () => {
    const cache = new AllowCache(0, 10);
    cache.add("k", 0);
    expect(cache.has("k", 0)).toBe(false);
  });
});
