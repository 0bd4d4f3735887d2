import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { EncryptionError } from "./errors.ts";
import { NONCE_PREFIX_SIZE, TAG_SIZE, headerLength, type StreamFormat } from "./format.ts";
import { SecretKey, type KeyInput } from "./keys.ts";

/** Node's HKDF refuses longer `info`; Tink passes the associated data as `info`. */
export const MAX_ASSOCIATED_DATA = 1024;

export type AssociatedData = Uint8Array | string;

export function toAssociatedData(ad: AssociatedData | undefined): Buffer {
  const bytes = typeof ad === "string" ? Buffer.from(ad, "utf8") : Buffer.from(ad ?? []);
  if (bytes.length > MAX_ASSOCIATED_DATA) {
    throw new EncryptionError(
      "InvalidArgument",
      `associatedData must be at most ${MAX_ASSOCIATED_DATA} bytes.`,
    );
  }
  return bytes;
}

/**
 * The stream key as input key material. Tink accepts any length from max(16, derivedKeySize)
 * bytes up; checked when a stream is created rather than when its first bytes arrive.
 */
export function toIkm(key: KeyInput, format: StreamFormat): KeyObject {
  if (key instanceof SecretKey) return key.keyObject;
  if (key.byteLength < Math.max(16, format.derivedKeySize)) {
    throw new EncryptionError(
      "InvalidKeyMaterial",
      `The stream key must be at least ${Math.max(16, format.derivedKeySize)} bytes long.`,
    );
  }
  return createSecretKey(key);
}

/** A fresh random header: length byte, salt, nonce prefix. */
export function newHeader(format: StreamFormat): Buffer {
  const header = randomBytes(headerLength(format));
  header[0] = header.length;
  return header;
}

/**
 * Seals and opens the segments of one stream. Holds the derived AES-GCM key and one nonce
 * buffer, so a segment costs one cipher context and no other allocation.
 */
export class SegmentCipher {
  private readonly key: KeyObject;
  private readonly algorithm: "aes-128-gcm" | "aes-256-gcm";
  private readonly nonce = Buffer.alloc(12);

  constructor(ikm: KeyObject, header: Uint8Array, associatedData: Buffer, format: StreamFormat) {
    const length = headerLength(format);
    if (header.length !== length || header[0] !== length) {
      throw new EncryptionError(
        "Tampered",
        `The ciphertext header does not start with its length ${length}: not this format, or altered.`,
      );
    }
    const salt = header.subarray(1, 1 + format.derivedKeySize);
    const derived = hkdfSync(format.hkdfHash, ikm, salt, associatedData, format.derivedKeySize);
    this.key = createSecretKey(new Uint8Array(derived));
    new Uint8Array(derived).fill(0);
    this.algorithm = format.derivedKeySize === 32 ? "aes-256-gcm" : "aes-128-gcm";
    header.subarray(length - NONCE_PREFIX_SIZE).forEach((byte, i) => (this.nonce[i] = byte));
  }

  private nonceFor(index: number, last: boolean): Buffer {
    this.nonce.writeUInt32BE(index, NONCE_PREFIX_SIZE);
    this.nonce[NONCE_PREFIX_SIZE + 4] = last ? 1 : 0;
    return this.nonce;
  }

  /**
   * One ciphertext segment as [ciphertext, tag]. Joining them costs a 64 KiB allocation per
   * segment, and in the gateway every such allocation brings V8's next full GC nearer (an
   * upload cost a quarter more CPU with them joined). Its sinks batch the tag with what follows
   * (the fs adapter's 512 KiB writes, the SDKs' parts); a bare fs.WriteStream writes it alone.
   */
  seal(plaintext: Uint8Array, index: number, last: boolean): [Buffer, Buffer] {
    const cipher = createCipheriv(this.algorithm, this.key, this.nonceFor(index, last), {
      authTagLength: TAG_SIZE,
    });
    const body = cipher.update(plaintext);
    cipher.final();
    return [body, cipher.getAuthTag()];
  }

  /** The plaintext of one whole ciphertext segment, or undefined when it does not authenticate. */
  tryOpen(segment: Uint8Array, index: number, last: boolean): Buffer | undefined {
    if (segment.length < TAG_SIZE) return undefined;
    const split = segment.length - TAG_SIZE;
    const decipher = createDecipheriv(this.algorithm, this.key, this.nonceFor(index, last), {
      authTagLength: TAG_SIZE,
    });
    decipher.setAuthTag(segment.subarray(split));
    const plaintext = decipher.update(segment.subarray(0, split));
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return plaintext;
  }

  /**
   * Opens segment `index`, and when it fails, says why: a segment that opens with the other
   * value of the last-segment flag proves the stream was cut (or extended) right there.
   */
  open(segment: Uint8Array, index: number, last: boolean): Buffer {
    const plaintext = this.tryOpen(segment, index, last);
    if (plaintext) return plaintext;
    if (this.tryOpen(segment, index, !last)) {
      throw last
        ? new EncryptionError(
            "Truncated",
            `The ciphertext ends after segment ${index}, which is not its final segment.`,
          )
        : new EncryptionError("Tampered", `Data follows the final segment (${index}).`);
    }
    throw new EncryptionError(
      "Tampered",
      `Segment ${index} failed authentication: altered or reordered data, a wrong key or wrong associated data.`,
    );
  }
}
