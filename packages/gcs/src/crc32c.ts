import { crc32c } from "@node-rs/crc32";

/**
 * CRC32C computed natively (SSE 4.2 / ARMv8 CRC instructions, several GB/s) in place of the
 * SDK's JavaScript table, which runs at about 240 MiB/s on one core: on a gateway that
 * already parses and hashes every upload on that core, the SDK's checksum halved the
 * throughput of large uploads and full downloads. Same shape as the SDK's `CRC32CValidator`
 * (base64 of the big-endian value), so it plugs in as `crc32cGenerator`.
 */
export class NativeCrc32c {
  #value = 0;

  update(data: Buffer): void {
    this.#value = crc32c(data, this.#value);
  }

  /** Base64 of the 4 big-endian bytes, as GCS reports it in `x-goog-hash: crc32c=…`. */
  toString(): string {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.#value >>> 0);
    return bytes.toString("base64");
  }

  validate(expected: string): boolean {
    return expected === this.toString();
  }
}

/** For the SDK's `crc32cGenerator` option (uploads it validates against GCS's answer). */
export const nativeCrc32cGenerator = (): NativeCrc32c => new NativeCrc32c();
