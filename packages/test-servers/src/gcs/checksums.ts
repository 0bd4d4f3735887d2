/* eslint-disable @typescript-eslint/no-non-null-assertion -- table and byte indices in the
   CRC loops are in range by construction (masked to 0–255, bounded by the length). */
import { createHash, type Hash } from "node:crypto";

/**
 * CRC32C (Castagnoli), the checksum GCS reports in `crc32c` and `x-goog-hash`. Node's zlib
 * only has the IEEE CRC-32, so this is a table-driven slicing-by-8 implementation: fast
 * enough to checksum a gigabyte upload in a few seconds.
 */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    first[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = first[n]!;
    for (let t = 1; t < 8; t++) {
      c = first[c & 0xff]! ^ (c >>> 8);
      tables[t]![n] = c >>> 0;
    }
  }
  return tables;
})();

export function crc32cUpdate(crc: number, bytes: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = ~crc >>> 0;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  for (; i < end8; i += 8) {
    const lo =
      (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>>
      0;
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[bytes[i + 4]!]! ^
      t2[bytes[i + 5]!]! ^
      t1[bytes[i + 6]!]! ^
      t0[bytes[i + 7]!]!;
  }
  for (; i < bytes.length; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** GCS's encoding of a CRC32C: the big-endian 4 bytes, base64. */
export function encodeCrc32c(crc: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc >>> 0);
  return out.toString("base64");
}

/**
 * Running MD5 + CRC32C over bytes as they arrive, with snapshots so a resumable session can
 * roll back to what it had persisted before a failed request.
 */
export class Checksums {
  private md5: Hash;
  private crc: number;

  constructor(md5: Hash = createHash("md5"), crc = 0) {
    this.md5 = md5;
    this.crc = crc;
  }

  update(bytes: Buffer): void {
    this.md5.update(bytes);
    this.crc = crc32cUpdate(this.crc, bytes);
  }

  snapshot(): Checksums {
    return new Checksums(this.md5.copy(), this.crc);
  }

  /** Base64 values as GCS reports them; the running state stays usable. */
  digest(): { md5Hash: string; crc32c: string } {
    return { md5Hash: this.md5.copy().digest("base64"), crc32c: encodeCrc32c(this.crc) };
  }
}
