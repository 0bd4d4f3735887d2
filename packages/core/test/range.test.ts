import { describe, expect, it } from "vitest";
import { isStorageError, rangeHeader, resolveRange } from "../src/index.ts";

describe("resolveRange", () => {
  it("resolves explicit, open and clamped ranges like HTTP", () => {
    expect(resolveRange({ start: 0, end: 0 }, 10)).toEqual({ start: 0, end: 0 });
    expect(resolveRange({ start: 9 }, 10)).toEqual({ start: 9, end: 9 });
    expect(resolveRange({ start: 5, end: 100 }, 10)).toEqual({ start: 5, end: 9 });
  });

  it("resolves suffix ranges, including ones longer than the object", () => {
    expect(resolveRange({ suffix: 1 }, 10)).toEqual({ start: 9, end: 9 });
    expect(resolveRange({ suffix: 50 }, 10)).toEqual({ start: 0, end: 9 });
  });

  it.each([
    [{ start: 10 }, 10],
    [{ start: 0 }, 0],
    [{ suffix: 0 }, 10],
    [{ suffix: 3 }, 0],
  ] as const)("rejects unsatisfiable %j on %i bytes with InvalidRange", (range, size) => {
    let caught: unknown;
    try {
      resolveRange(range, size);
    } catch (err) {
      caught = err;
    }
    expect(isStorageError(caught, "InvalidRange")).toBe(true);
  });

  it("rejects malformed specs", () => {
    expect(() => resolveRange({ start: 5, end: 2 }, 10)).toThrow(/Malformed/);
    expect(() => resolveRange({ start: -1 }, 10)).toThrow(/Malformed/);
    expect(() => resolveRange({ start: 1.5 }, 10)).toThrow(/Malformed/);
  });

  it("renders HTTP Range headers", () => {
    expect(rangeHeader({ start: 3 })).toBe("bytes=3-");
    expect(rangeHeader({ start: 3, end: 7 })).toBe("bytes=3-7");
    expect(rangeHeader({ suffix: 4 })).toBe("bytes=-4");
  });
});
