import { EncryptionError } from "./errors.ts";
import { DEFAULT_FORMAT, headerLength, resolveFormat, type StreamFormat } from "./format.ts";
import { decodeWrappedKey, encodeWrappedKey, type WrappedKey } from "./wrap.ts";

/**
 * What an encrypted object carries in its metadata: enough to find and unwrap its data key
 * and to read it at random. Version 1 means Tink AES-GCM-HKDF streaming with HKDF-SHA256 and
 * AES-256, a 32-byte data key as input key material, wrapped with AES-256-GCM (see wrap.ts).
 */
export interface Envelope {
  version: 1;
  /** Ciphertext segment size of the object. */
  segmentSize: number;
  /** The data key, wrapped by the uid (or shared) key; `wrappedDataKey.keyId` names that key. */
  wrappedDataKey: WrappedKey;
  /**
   * A copy of the object's stream header, so a range that skips segment 0 needs no extra read
   * for it. Not secret; the object's own header stays authoritative for whole reads.
   */
  header?: Buffer;
}

const PREFIX = "mge1";
const FIELD = /^[A-Za-z0-9_-]+$/;

/** Stream format of a version-1 envelope. */
export function envelopeFormat(envelope: Envelope): StreamFormat {
  return resolveFormat({ ...DEFAULT_FORMAT, segmentSize: envelope.segmentSize });
}

/**
 * `mge1.<segment size>.<uid key id>.<wrapped data key>[.<header>]`, base64url fields: about
 * 160 ASCII characters, safe as an S3, GCS or Azure metadata value.
 */
export function encodeEnvelope(envelope: Envelope): string {
  const format = envelopeFormat(envelope);
  const wrapped = encodeWrappedKey(envelope.wrappedDataKey).split(".");
  const fields = [PREFIX, String(format.segmentSize), wrapped[1], wrapped[2]];
  if (envelope.header) {
    if (envelope.header.length !== headerLength(format)) {
      throw new EncryptionError("InvalidArgument", "The envelope's header has the wrong length.");
    }
    fields.push(envelope.header.toString("base64url"));
  }
  return fields.join(".");
}

export function decodeEnvelope(text: string): Envelope {
  const parts = text.split(".");
  const [prefix, size, keyId, blob, header] = parts;
  const malformed = () =>
    new EncryptionError(
      "InvalidEnvelope",
      `The encryption envelope is not ${PREFIX}.<segment size>.<key id>.<wrapped key>[.<header>].`,
    );
  if (
    prefix !== PREFIX ||
    parts.length < 4 ||
    parts.length > 5 ||
    !size ||
    !/^[1-9][0-9]{0,8}$/.test(size)
  ) {
    throw malformed();
  }
  if (header !== undefined && !FIELD.test(header)) throw malformed();
  const envelope: Envelope = {
    version: 1,
    segmentSize: Number(size),
    wrappedDataKey: decodeWrappedKey(`mgw1.${keyId ?? ""}.${blob ?? ""}`),
  };
  let format: StreamFormat;
  try {
    format = envelopeFormat(envelope);
  } catch (err) {
    throw new EncryptionError("InvalidEnvelope", "The envelope's segment size is out of range.", {
      cause: err,
    });
  }
  if (header !== undefined) {
    const bytes = Buffer.from(header, "base64url");
    if (bytes.length !== headerLength(format)) throw malformed();
    envelope.header = bytes;
  }
  return envelope;
}
