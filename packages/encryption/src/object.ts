import { type AssociatedData } from "./segment.ts";
import { EncryptionError } from "./errors.ts";
import { DecryptStream } from "./decrypt-stream.ts";
import { EncryptStream } from "./encrypt-stream.ts";
import { decodeEnvelope, encodeEnvelope, envelopeFormat, type Envelope } from "./envelope.ts";
import { plaintextSize, type StreamFormat } from "./format.ts";
import { SecretKey } from "./keys.ts";
import { RangeDecryptStream, planRange, type ByteRange, type RangePlan } from "./range.ts";
import { unwrapKey, wrapKey } from "./wrap.ts";

export const DATA_KEY_PURPOSE = "data-key";

export interface ObjectOptions {
  /**
   * What the object is bound to, e.g. its storage key: it is the stream's associated data and
   * the data key's wrapping context, so it must be presented again to read the object.
   */
  associatedData?: AssociatedData;
}

export interface SealedObject {
  /** Encrypts what is written to it. */
  stream: EncryptStream;
  /** The object's metadata value (see encodeEnvelope); known before any byte is written. */
  envelope: string;
}

/** A fresh data key for one object, sealed under `uidKey`, and the stream that uses it. */
export function encryptObject(
  uidKey: SecretKey,
  options: ObjectOptions & { segmentSize?: number } = {},
): SealedObject {
  const dataKey = SecretKey.generate();
  const stream = new EncryptStream(dataKey, {
    segmentSize: options.segmentSize,
    associatedData: options.associatedData,
  });
  const envelope: Envelope = {
    version: 1,
    segmentSize: stream.format.segmentSize,
    wrappedDataKey: wrapKey(uidKey, dataKey, {
      purpose: DATA_KEY_PURPOSE,
      context: options.associatedData,
    }),
    header: stream.header,
  };
  return { stream, envelope: encodeEnvelope(envelope) };
}

/** An object whose data key has been unwrapped: everything needed to read all or part of it. */
export interface OpenedObject {
  readonly format: StreamFormat;
  /** Id of the uid key that wraps this object's data key. */
  readonly uidKeyId: string;
  plaintextSize(objectSize: number): number;
  createDecryptStream(): DecryptStream;
  planRange(objectSize: number, range: ByteRange): RangePlan;
  /** Uses the envelope's copy of the header when the plan does not cover it. */
  createRangeDecryptStream(plan: RangePlan): RangeDecryptStream;
}

export function openObject(
  uidKey: SecretKey,
  envelopeText: string,
  options: ObjectOptions = {},
): OpenedObject {
  const envelope = decodeEnvelope(envelopeText);
  const format = envelopeFormat(envelope);
  const dataKey = unwrapKey(uidKey, envelope.wrappedDataKey, {
    purpose: DATA_KEY_PURPOSE,
    context: options.associatedData,
  });
  const { associatedData } = options;
  return {
    format,
    uidKeyId: envelope.wrappedDataKey.keyId,
    plaintextSize: (objectSize) => plaintextSize(objectSize, format),
    createDecryptStream: () => new DecryptStream(dataKey, { ...format, associatedData }),
    planRange: (objectSize, range) => planRange(objectSize, range, format),
    createRangeDecryptStream: (plan) => {
      if (plan.format.segmentSize !== format.segmentSize) {
        throw new EncryptionError("InvalidArgument", "The range plan was made for another format.");
      }
      return new RangeDecryptStream(dataKey, plan, { associatedData, header: envelope.header });
    },
  };
}
