import { randomBytes } from "node:crypto";
import { CRC32C } from "@google-cloud/storage";
import { describe, expect, it } from "vitest";
import { NativeCrc32c, nativeCrc32cGenerator } from "../src/crc32c.ts";

describe("NativeCrc32c", () => {
  it("gives the values of the SDK's documented examples", () => {
    const one = nativeCrc32cGenerator();
    one.update(Buffer.from("data"));
    expect(one.toString()).toBe("rth90Q==");
    expect(one.validate("rth90Q==")).toBe(true);
    expect(one.validate("DkjKuA==")).toBe(false);

    const two = new NativeCrc32c();
    two.update(Buffer.from("some "));
    two.update(Buffer.from("text\n"));
    expect(two.toString()).toBe("DkjKuA==");
  });

  it("matches the SDK's own implementation over random chunks, and of nothing", () => {
    expect(new NativeCrc32c().toString()).toBe(new CRC32C().toString());
    const native = new NativeCrc32c();
    const reference = new CRC32C();
    for (let i = 0; i < 20; i++) {
      const chunk = randomBytes(1 + Math.floor(Math.random() * 70_000));
      native.update(chunk);
      reference.update(chunk);
      expect(native.toString()).toBe(reference.toString());
    }
  });
});
