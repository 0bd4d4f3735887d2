import { Transform, type TransformCallback } from "node:stream";
import { EncryptionError } from "./errors.ts";
import {
  TAG_SIZE,
  assertSegmentIndex,
  headerLength,
  resolveFormat,
  type StreamFormat,
} from "./format.ts";
import type { KeyInput } from "./keys.ts";
import { SegmentCipher, toAssociatedData, toIkm } from "./segment.ts";
import type { KeyObject } from "node:crypto";
import type { StreamOptions } from "./encrypt-stream.ts";

/**
 * Ciphertext in, plaintext out. Every segment is authenticated before a byte of it is
 * emitted; a flipped byte, a cut, a reordered or swapped segment, a missing final segment or
 * bytes after it make the stream fail with an EncryptionError (Tampered or Truncated). Bytes
 * already emitted belong to earlier, authentic segments.
 */
export class DecryptStream extends Transform {
  readonly format: StreamFormat;
  private readonly key: KeyObject;
  private readonly associatedData: Buffer;
  private readonly header: Buffer;
  private headerFilled = 0;
  private cipher: SegmentCipher | undefined;
  /** One ciphertext segment, held until it is known whether it is the last one. */
  private readonly pending: Buffer;
  private filled = 0;
  private index = 0;

  constructor(key: KeyInput, options: StreamOptions = {}) {
    super();
    this.format = resolveFormat(options);
    this.key = toIkm(key, this.format);
    this.associatedData = toAssociatedData(options.associatedData);
    this.header = Buffer.alloc(headerLength(this.format));
    this.pending = Buffer.allocUnsafe(this.format.segmentSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      let offset = this.readHeader(chunk);
      while (offset < chunk.length) {
        const capacity = this.segmentLength();
        if (this.filled === capacity) {
          this.open(this.pending.subarray(0, capacity), false);
          this.filled = 0;
        } else if (this.filled === 0 && chunk.length - offset > capacity) {
          this.open(chunk.subarray(offset, offset + capacity), false);
          offset += capacity;
        } else {
          const take = Math.min(capacity - this.filled, chunk.length - offset);
          chunk.copy(this.pending, this.filled, offset, offset + take);
          this.filled += take;
          offset += take;
        }
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.cipher) {
        throw new EncryptionError(
          "Truncated",
          this.headerFilled === 0
            ? "The ciphertext is empty."
            : "The ciphertext ends inside its header.",
        );
      }
      if (this.filled < TAG_SIZE) {
        throw new EncryptionError(
          "Truncated",
          `The ciphertext ends inside segment ${this.index} (${this.filled} bytes).`,
        );
      }
      this.open(this.pending.subarray(0, this.filled), true);
      this.filled = 0;
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  /** Full ciphertext length of the current segment. */
  private segmentLength(): number {
    return this.index === 0
      ? this.format.segmentSize - this.header.length
      : this.format.segmentSize;
  }

  /** Copies header bytes from the chunk; returns where segment data begins in it. */
  private readHeader(chunk: Buffer): number {
    if (this.cipher) return 0;
    const take = Math.min(this.header.length - this.headerFilled, chunk.length);
    chunk.copy(this.header, this.headerFilled, 0, take);
    this.headerFilled += take;
    if (this.headerFilled === this.header.length) {
      this.cipher = new SegmentCipher(this.key, this.header, this.associatedData, this.format);
    }
    return take;
  }

  private open(segment: Buffer, last: boolean): void {
    assertSegmentIndex(this.index);
    // Only reached once the header is complete.
    const plaintext = (this.cipher as SegmentCipher).open(segment, this.index, last);
    this.index += 1;
    if (plaintext.length > 0) this.push(plaintext);
  }
}

/** A Transform that decrypts a whole ciphertext stream written to it. */
export function createDecryptStream(key: KeyInput, options: StreamOptions = {}): DecryptStream {
  return new DecryptStream(key, options);
}
