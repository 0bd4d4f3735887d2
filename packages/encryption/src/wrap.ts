import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { EncryptionError } from "./errors.ts";
import { KEY_SIZE, SecretKey } from "./keys.ts";
import { KeyRing } from "./keyring.ts";

/**
 * Key wrapping with AES-256-GCM: blob = nonce(12) || encrypted key(32) || tag(16). The
 * associated data binds the wrapping key's id, the purpose ("uid-key", "data-key") and an
 * optional context (the uid, the object), so a wrapped key moved to another row, user or
 * role fails to unwrap. RFC 3394/5649 key wrap has no associated data, so it could not.
 */
export interface WrappedKey {
  /** Id of the key that wrapped this one. */
  keyId: string;
  blob: Buffer;
}

export interface WrapOptions {
  /** What the wrapped key is for; lower-case letters, digits and dashes. */
  purpose: string;
  /** Whatever the wrapped key belongs to (a uid, an object key); must match on unwrap. */
  context?: string | Uint8Array;
}

const VERSION = "mgw1";
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const BLOB_SIZE = NONCE_SIZE + KEY_SIZE + TAG_SIZE;
const PURPOSE = /^[a-z0-9-]{1,32}$/;
const KEY_ID = /^[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function associatedData(keyId: string, options: WrapOptions): Buffer {
  if (!PURPOSE.test(options.purpose)) {
    throw new EncryptionError(
      "InvalidArgument",
      "purpose must be 1-32 lower-case letters, digits or dashes.",
    );
  }
  const context =
    typeof options.context === "string"
      ? Buffer.from(options.context, "utf8")
      : Buffer.from(options.context ?? []);
  // The NUL separators cannot occur in the version, purpose or id, so the encoding is unambiguous.
  return Buffer.concat([
    Buffer.from(`${VERSION}\0${options.purpose}\0${keyId}\0`, "utf8"),
    context,
  ]);
}

export function wrapKey(wrappingKey: SecretKey, key: SecretKey, options: WrapOptions): WrappedKey {
  const nonce = randomBytes(NONCE_SIZE);
  const cipher = createCipheriv("aes-256-gcm", wrappingKey.keyObject, nonce, {
    authTagLength: TAG_SIZE,
  });
  cipher.setAAD(associatedData(wrappingKey.id, options));
  const raw = key.exportBytes();
  try {
    const body = cipher.update(raw);
    cipher.final();
    return { keyId: wrappingKey.id, blob: Buffer.concat([nonce, body, cipher.getAuthTag()]) };
  } finally {
    raw.fill(0);
  }
}

/** Unwraps with the given key, or with the ring's key that the wrapped material names. */
export function unwrapKey(
  wrapping: SecretKey | KeyRing,
  wrapped: WrappedKey | string,
  options: WrapOptions,
): SecretKey {
  const material = typeof wrapped === "string" ? decodeWrappedKey(wrapped) : wrapped;
  const key = wrapping instanceof KeyRing ? wrapping.get(material.keyId) : wrapping;
  if (!key || key.id !== material.keyId) {
    const held = wrapping instanceof KeyRing ? wrapping.ids.join(", ") : wrapping.id;
    throw new EncryptionError(
      "WrongKey",
      `The ${options.purpose} was wrapped by key ${material.keyId}, which is not among the keys held (${held}).`,
    );
  }
  if (material.blob.length !== BLOB_SIZE) {
    throw new EncryptionError(
      "InvalidEnvelope",
      `A wrapped key is ${BLOB_SIZE} bytes, not ${material.blob.length}.`,
    );
  }
  const decipher = createDecipheriv(
    "aes-256-gcm",
    key.keyObject,
    material.blob.subarray(0, NONCE_SIZE),
    {
      authTagLength: TAG_SIZE,
    },
  );
  decipher.setAAD(associatedData(key.id, options));
  decipher.setAuthTag(material.blob.subarray(NONCE_SIZE + KEY_SIZE));
  const raw = decipher.update(material.blob.subarray(NONCE_SIZE, NONCE_SIZE + KEY_SIZE));
  try {
    decipher.final();
    return SecretKey.fromBytes(raw);
  } catch (err) {
    throw new EncryptionError(
      "Tampered",
      `The wrapped ${options.purpose} failed authentication: it was altered, or its purpose or context differs.`,
      { cause: err },
    );
  } finally {
    raw.fill(0);
  }
}

/** `mgw1.<wrapping key id>.<base64url blob>`: 98 ASCII characters, fit for a text column. */
export function encodeWrappedKey(wrapped: WrappedKey): string {
  return `${VERSION}.${wrapped.keyId}.${wrapped.blob.toString("base64url")}`;
}

export function decodeWrappedKey(text: string): WrappedKey {
  const parts = text.split(".");
  const [version, keyId, blob] = parts;
  if (
    parts.length !== 3 ||
    version !== VERSION ||
    !keyId ||
    !KEY_ID.test(keyId) ||
    !blob ||
    !BASE64URL.test(blob)
  ) {
    throw new EncryptionError(
      "InvalidEnvelope",
      `A wrapped key must look like ${VERSION}.<key id>.<base64url>.`,
    );
  }
  const bytes = Buffer.from(blob, "base64url");
  if (bytes.length !== BLOB_SIZE) {
    throw new EncryptionError(
      "InvalidEnvelope",
      `A wrapped key is ${BLOB_SIZE} bytes, not ${bytes.length}.`,
    );
  }
  return { keyId, blob: bytes };
}

/** The id of the key that wrapped `wrapped`, without unwrapping it. */
export function wrappingKeyId(wrapped: string): string {
  return decodeWrappedKey(wrapped).keyId;
}
