import { describe, expect, it } from "vitest";
import { crc32cUpdate, encodeCrc32c } from "../../src/gcs/index.ts";

// Check values from RFC 3720 (iSCSI), appendix B.4, and the classic "123456789" vector.
describe("CRC32C", () => {
  it("matches the published check values", () => {
    expect(crc32cUpdate(0, Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32cUpdate(0, Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32cUpdate(0, Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(crc32cUpdate(0, ascending)).toBe(0x46dd794e);
  });

  it("gives the same value fed in pieces of any size", () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff));
    const whole = crc32cUpdate(0, bytes);
    for (const piece of [1, 3, 8, 13, 999]) {
      let crc = 0;
      for (let i = 0; i < bytes.length; i += piece)
        crc = crc32cUpdate(crc, bytes.subarray(i, i + piece));
      expect(crc).toBe(whole);
    }
  });

  it("is encoded as GCS reports it: base64 of the big-endian bytes", () => {
    expect(encodeCrc32c(0xe3069283)).toBe("4waSgw==");
    expect(encodeCrc32c(0)).toBe("AAAAAA==");
  });
});
