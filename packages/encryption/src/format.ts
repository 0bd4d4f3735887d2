import { EncryptionError } from "./errors.ts";

/**
 * Geometry of Tink's AES-GCM-HKDF streaming ciphertexts
 * (https://developers.google.com/tink/streaming-aead/aes_gcm_hkdf_streaming), with Tink's
 * usual first-segment offset of 0:
 *
 *   header = len(header) || salt || noncePrefix        (1 + derivedKeySize + 7 bytes)
 *   ciphertext = header || C_0 || C_1 || … || C_{n-1}
 *
 * Every C_i is AES-GCM(plaintext segment) || 16-byte tag. All but the last fill exactly
 * `segmentSize` bytes, except C_0, which is shortened by the header so that segment i ≥ 1
 * starts at byte i·segmentSize of the object.
 */
export type HkdfHash = "sha1" | "sha256" | "sha512";

export interface StreamFormat {
  /** Tink's CiphertextSegmentSize: bytes per ciphertext segment, tag included. */
  segmentSize: number;
  /** Size of the derived AES-GCM key; 32 selects AES-256. */
  derivedKeySize: 16 | 32;
  hkdfHash: HkdfHash;
}

export const TAG_SIZE = 16;
export const NONCE_PREFIX_SIZE = 7;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
/** A segment is buffered whole while it is sealed or checked, so its size bounds memory. */
export const MAX_SEGMENT_SIZE = 8 * 1024 * 1024;
/** Segment numbers are 32-bit in the nonce. */
const MAX_SEGMENTS = 2 ** 32;

/** mediagate's choice: AES-256 keys derived with HKDF-SHA256, 64 KiB segments. */
export const DEFAULT_FORMAT: Readonly<StreamFormat> = Object.freeze({
  segmentSize: DEFAULT_SEGMENT_SIZE,
  derivedKeySize: 32,
  hkdfHash: "sha256",
});

export function headerLength(format: StreamFormat): number {
  return 1 + format.derivedKeySize + NONCE_PREFIX_SIZE;
}

export function resolveFormat(partial: Partial<StreamFormat> = {}): StreamFormat {
  const format: StreamFormat = {
    segmentSize: partial.segmentSize ?? DEFAULT_FORMAT.segmentSize,
    derivedKeySize: partial.derivedKeySize ?? DEFAULT_FORMAT.derivedKeySize,
    hkdfHash: partial.hkdfHash ?? DEFAULT_FORMAT.hkdfHash,
  };
  if (format.derivedKeySize !== 16 && format.derivedKeySize !== 32) {
    throw new EncryptionError("InvalidArgument", "derivedKeySize must be 16 or 32.");
  }
  if (!["sha1", "sha256", "sha512"].includes(format.hkdfHash)) {
    throw new EncryptionError("InvalidArgument", "hkdfHash must be sha1, sha256 or sha512.");
  }
  const min = headerLength(format) + TAG_SIZE + 1;
  const size = format.segmentSize;
  if (!Number.isSafeInteger(size) || size < min || size > MAX_SEGMENT_SIZE) {
    throw new EncryptionError(
      "InvalidArgument",
      `segmentSize must be an integer from ${min} to ${MAX_SEGMENT_SIZE}.`,
    );
  }
  return format;
}

/** Plaintext bytes carried by segment `index` when it is full. */
export function segmentCapacity(format: StreamFormat, index: number): number {
  const full = format.segmentSize - TAG_SIZE;
  return index === 0 ? full - headerLength(format) : full;
}

/** Offset of segment `index`'s first plaintext byte within the plaintext. */
export function segmentPlaintextStart(format: StreamFormat, index: number): number {
  return index === 0 ? 0 : index * (format.segmentSize - TAG_SIZE) - headerLength(format);
}

/** Offset of segment `index`'s first ciphertext byte within the object. */
export function segmentCiphertextStart(format: StreamFormat, index: number): number {
  return index === 0 ? headerLength(format) : index * format.segmentSize;
}

/** The segment holding plaintext byte `position`. */
export function segmentOf(format: StreamFormat, position: number): number {
  return Math.floor((position + headerLength(format)) / (format.segmentSize - TAG_SIZE));
}

function assertSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new EncryptionError("InvalidArgument", `${what} must be a non-negative integer.`);
  }
}

/** Size of the object that encrypting `plaintextBytes` produces. */
export function ciphertextSize(plaintextBytes: number, format: Partial<StreamFormat> = {}): number {
  const f = resolveFormat(format);
  assertSize(plaintextBytes, "plaintextSize");
  const perSegment = f.segmentSize - TAG_SIZE;
  const withHeader = plaintextBytes + headerLength(f);
  const full = Math.floor(withHeader / perSegment);
  const rest = withHeader % perSegment;
  return full * f.segmentSize + (rest > 0 ? rest + TAG_SIZE : 0);
}

/** Number of segments in an object of `objectSize` bytes; throws Truncated if none fits. */
export function segmentCount(objectSize: number, format: StreamFormat): number {
  assertSize(objectSize, "ciphertextSize");
  const full = Math.floor(objectSize / format.segmentSize);
  const rest = objectSize % format.segmentSize;
  const count = rest > 0 ? full + 1 : full;
  const lastMin = count === 1 ? headerLength(format) + TAG_SIZE : TAG_SIZE;
  if (count === 0 || (rest > 0 && rest < lastMin)) {
    throw new EncryptionError(
      "Truncated",
      `A ${objectSize}-byte object cannot be a complete ciphertext with ${format.segmentSize}-byte segments.`,
    );
  }
  if (count > MAX_SEGMENTS) {
    throw new EncryptionError(
      "InvalidArgument",
      "The object has more segments than the format allows.",
    );
  }
  return count;
}

/**
 * Plaintext size of an object of `objectSize` bytes. It rests on the stored size, which is not
 * authenticated until the final segment has been decrypted.
 */
export function plaintextSize(objectSize: number, format: Partial<StreamFormat> = {}): number {
  const f = resolveFormat(format);
  const count = segmentCount(objectSize, f);
  return objectSize - headerLength(f) - count * TAG_SIZE;
}

export function assertSegmentIndex(index: number): void {
  if (index >= MAX_SEGMENTS) {
    throw new EncryptionError("InvalidArgument", "The stream is longer than 2^32 segments.");
  }
}
