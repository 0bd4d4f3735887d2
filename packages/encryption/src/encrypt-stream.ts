import { Transform, type TransformCallback } from "node:stream";
import { assertSegmentIndex, resolveFormat, segmentCapacity, type StreamFormat } from "./format.ts";
import type { KeyInput } from "./keys.ts";
import {
  SegmentCipher,
  newHeader,
  toAssociatedData,
  toIkm,
  type AssociatedData,
} from "./segment.ts";

export interface StreamOptions extends Partial<StreamFormat> {
  /** Bound into every segment's key; decryption must present the same bytes. */
  associatedData?: AssociatedData;
}

/**
 * Plaintext in, Tink AES-GCM-HKDF streaming ciphertext out. A segment can only be sealed once
 * it is known whether more data follows (the last-segment flag is part of its nonce), so one
 * segment of plaintext is held back; nothing else is buffered.
 */
export class EncryptStream extends Transform {
  /** The stream header (length, salt, nonce prefix), known before any data flows. */
  readonly header: Buffer;
  readonly format: StreamFormat;
  private readonly cipher: SegmentCipher;
  private readonly pending: Buffer;
  private filled = 0;
  private index = 0;
  private headerSent = false;

  /** `fixedHeader` exists for known-answer tests only: a reused header reuses nonces. */
  constructor(key: KeyInput, options: StreamOptions = {}, fixedHeader?: Uint8Array) {
    super();
    this.format = resolveFormat(options);
    this.header = fixedHeader ? Buffer.from(fixedHeader) : newHeader(this.format);
    this.cipher = new SegmentCipher(
      toIkm(key, this.format),
      this.header,
      toAssociatedData(options.associatedData),
      this.format,
    );
    this.pending = Buffer.allocUnsafe(segmentCapacity(this.format, 1));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.sendHeader();
      let offset = 0;
      while (offset < chunk.length) {
        const capacity = segmentCapacity(this.format, this.index);
        if (this.filled === capacity) {
          // More data follows, so the held segment is not the last one.
          this.seal(this.pending.subarray(0, capacity), false);
          this.filled = 0;
        } else if (this.filled === 0 && chunk.length - offset > capacity) {
          // A whole non-final segment inside this chunk: seal it in place, without a copy.
          this.seal(chunk.subarray(offset, offset + capacity), false);
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
      this.sendHeader();
      this.seal(this.pending.subarray(0, this.filled), true);
      this.filled = 0;
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.header);
  }

  private seal(plaintext: Buffer, last: boolean): void {
    assertSegmentIndex(this.index);
    const [body, tag] = this.cipher.seal(plaintext, this.index, last);
    this.index += 1;
    if (body.length > 0) this.push(body);
    this.push(tag);
  }
}

/** A Transform that encrypts what is written to it; `.header` is available at once. */
export function createEncryptStream(key: KeyInput, options: StreamOptions = {}): EncryptStream {
  return new EncryptStream(key, options);
}

/** Known-answer tests only (not exported from the package): encrypts under a given header. */
export function createEncryptStreamWithHeaderForTesting(
  key: KeyInput,
  options: StreamOptions,
  header: Uint8Array,
): EncryptStream {
  return new EncryptStream(key, options, header);
}
