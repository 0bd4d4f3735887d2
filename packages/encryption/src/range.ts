import { Transform, type TransformCallback } from "node:stream";
import { EncryptionError } from "./errors.ts";
import {
  TAG_SIZE,
  headerLength,
  resolveFormat,
  segmentCiphertextStart,
  segmentCount,
  segmentOf,
  segmentPlaintextStart,
  type StreamFormat,
} from "./format.ts";
import type { KeyInput } from "./keys.ts";
import { SegmentCipher, toAssociatedData, toIkm } from "./segment.ts";
import type { KeyObject } from "node:crypto";
import type { StreamOptions } from "./encrypt-stream.ts";

/** A byte range, both ends inclusive, like HTTP's `bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface RangePlan {
  format: StreamFormat;
  ciphertextSize: number;
  plaintextSize: number;
  /** The plaintext bytes asked for (inclusive). */
  start: number;
  end: number;
  firstSegment: number;
  lastSegment: number;
  segmentCount: number;
  /**
   * The ciphertext bytes to read (inclusive): exactly the segments covering the range. When
   * segment 0 is among them this starts at 0 and so includes the header.
   */
  ciphertext: ByteRange;
  /** Where the header lives in the object. */
  header: ByteRange;
  /** False: the header is not inside `ciphertext`; read it too, or take it from the envelope. */
  headerIncluded: boolean;
}

/**
 * Maps plaintext bytes `start`..`end` (inclusive, within the plaintext) of an object of
 * `objectSize` ciphertext bytes to the ciphertext that must be read to serve them.
 */
export function planRange(
  objectSize: number,
  range: ByteRange,
  format: Partial<StreamFormat> = {},
): RangePlan {
  const f = resolveFormat(format);
  const count = segmentCount(objectSize, f);
  const size = objectSize - headerLength(f) - count * TAG_SIZE;
  const { start, end } = range;
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    start > end ||
    end >= size
  ) {
    throw new EncryptionError(
      "InvalidArgument",
      `The range ${start}-${end} is not inside the ${size}-byte plaintext.`,
    );
  }
  const firstSegment = segmentOf(f, start);
  const lastSegment = segmentOf(f, end);
  const headerIncluded = firstSegment === 0;
  return {
    format: f,
    ciphertextSize: objectSize,
    plaintextSize: size,
    start,
    end,
    firstSegment,
    lastSegment,
    segmentCount: count,
    ciphertext: {
      start: headerIncluded ? 0 : segmentCiphertextStart(f, firstSegment),
      end: Math.min((lastSegment + 1) * f.segmentSize, objectSize) - 1,
    },
    header: { start: 0, end: headerLength(f) - 1 },
    headerIncluded,
  };
}

export interface RangeDecryptOptions extends Pick<StreamOptions, "associatedData"> {
  /** The header bytes, required when the plan's ciphertext does not include them. */
  header?: Uint8Array;
}

/**
 * Ciphertext bytes `plan.ciphertext` in, exactly plaintext bytes `plan.start`..`plan.end` out.
 * Each segment is authenticated before any of it is emitted; the object's final segment is
 * opened as final, so a cut object fails when its end is read.
 */
export class RangeDecryptStream extends Transform {
  private readonly plan: RangePlan;
  private readonly key: KeyObject;
  private readonly associatedData: Buffer;
  private readonly header: Buffer;
  /** A header recorded elsewhere (the envelope) that the object's own must match. */
  private readonly expectedHeader: Buffer | undefined;
  private headerFilled: number;
  private cipher: SegmentCipher | undefined;
  private readonly pending: Buffer;
  private filled = 0;
  private index: number;

  constructor(key: KeyInput, plan: RangePlan, options: RangeDecryptOptions = {}) {
    super();
    this.plan = plan;
    this.key = toIkm(key, plan.format);
    this.associatedData = toAssociatedData(options.associatedData);
    this.index = plan.firstSegment;
    this.pending = Buffer.allocUnsafe(plan.format.segmentSize);
    this.header = Buffer.alloc(headerLength(plan.format));
    this.headerFilled = 0;
    if (plan.headerIncluded) {
      this.expectedHeader = options.header ? Buffer.from(options.header) : undefined;
    } else {
      if (!options.header) {
        throw new EncryptionError(
          "InvalidArgument",
          "This range does not include the header: pass the header bytes as options.header.",
        );
      }
      this.acceptHeader(Buffer.from(options.header));
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      let offset = this.readHeader(chunk);
      while (offset < chunk.length) {
        if (this.index > this.plan.lastSegment) {
          throw new EncryptionError(
            "InvalidArgument",
            "More ciphertext arrived than the range plan covers.",
          );
        }
        const length = this.segmentLength(this.index);
        if (this.filled === 0 && chunk.length - offset >= length) {
          this.open(chunk.subarray(offset, offset + length));
          offset += length;
          continue;
        }
        const take = Math.min(length - this.filled, chunk.length - offset);
        chunk.copy(this.pending, this.filled, offset, offset + take);
        this.filled += take;
        offset += take;
        if (this.filled === length) {
          this.open(this.pending.subarray(0, length));
          this.filled = 0;
        }
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(
      this.index > this.plan.lastSegment
        ? null
        : new EncryptionError(
            "Truncated",
            `The ciphertext range ended inside segment ${this.index}.`,
          ),
    );
  }

  private segmentLength(index: number): number {
    const { format, ciphertextSize } = this.plan;
    const start = segmentCiphertextStart(format, index);
    return Math.min((index + 1) * format.segmentSize, ciphertextSize) - start;
  }

  private readHeader(chunk: Buffer): number {
    if (this.cipher) return 0;
    const take = Math.min(this.header.length - this.headerFilled, chunk.length);
    chunk.copy(this.header, this.headerFilled, 0, take);
    this.headerFilled += take;
    if (this.headerFilled === this.header.length) {
      if (this.expectedHeader && !this.expectedHeader.equals(this.header)) {
        throw new EncryptionError(
          "Tampered",
          "The object's header differs from the one recorded for it.",
        );
      }
      this.acceptHeader(this.header);
    }
    return take;
  }

  private acceptHeader(header: Buffer): void {
    this.cipher = new SegmentCipher(this.key, header, this.associatedData, this.plan.format);
  }

  private open(segment: Buffer): void {
    const { plan } = this;
    const last = this.index === plan.segmentCount - 1;
    const plaintext = (this.cipher as SegmentCipher).open(segment, this.index, last);
    const offset = segmentPlaintextStart(plan.format, this.index);
    const from = Math.max(plan.start - offset, 0);
    const to = Math.min(plan.end - offset + 1, plaintext.length);
    if (to > from) this.push(plaintext.subarray(from, to));
    this.index += 1;
  }
}

export function createRangeDecryptStream(
  key: KeyInput,
  plan: RangePlan,
  options: RangeDecryptOptions = {},
): RangeDecryptStream {
  return new RangeDecryptStream(key, plan, options);
}
