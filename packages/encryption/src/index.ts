export { ENCRYPTION_ERROR_CODES, EncryptionError, isEncryptionError } from "./errors.ts";
export type { EncryptionErrorCode } from "./errors.ts";
export {
  DEFAULT_FORMAT,
  DEFAULT_SEGMENT_SIZE,
  MAX_SEGMENT_SIZE,
  TAG_SIZE,
  ciphertextSize,
  headerLength,
  plaintextSize,
} from "./format.ts";
export type { HkdfHash, StreamFormat } from "./format.ts";
export { KEY_SIZE, SecretKey, generateMasterKey, keyId } from "./keys.ts";
export type { KeyInput } from "./keys.ts";
export { KeyRing, decodeKey } from "./keyring.ts";
export type { ParseOptions } from "./keyring.ts";
export { createEncryptStream } from "./encrypt-stream.ts";
export type { EncryptStream, StreamOptions } from "./encrypt-stream.ts";
export { createDecryptStream } from "./decrypt-stream.ts";
export type { DecryptStream } from "./decrypt-stream.ts";
export { createRangeDecryptStream, planRange } from "./range.ts";
export type { RangeDecryptStream } from "./range.ts";
export type { ByteRange, RangeDecryptOptions, RangePlan } from "./range.ts";
export { MAX_ASSOCIATED_DATA } from "./segment.ts";
export type { AssociatedData } from "./segment.ts";
export { decodeWrappedKey, encodeWrappedKey, unwrapKey, wrapKey, wrappingKeyId } from "./wrap.ts";
export type { WrapOptions, WrappedKey } from "./wrap.ts";
export { decodeEnvelope, encodeEnvelope, envelopeFormat } from "./envelope.ts";
export type { Envelope } from "./envelope.ts";
export { DATA_KEY_PURPOSE, encryptObject, openObject } from "./object.ts";
export type { ObjectOptions, OpenedObject, SealedObject } from "./object.ts";
export {
  UID_KEY_PURPOSE,
  createUidKey,
  needsRewrap,
  rewrapUidKey,
  unwrapUidKey,
  wrapUidKey,
} from "./hierarchy.ts";
export type { NewUidKey } from "./hierarchy.ts";
