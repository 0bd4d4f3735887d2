import { createHash, createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import { inspect } from "node:util";
import { EncryptionError } from "./errors.ts";

/** Every key this package generates, wraps or accepts from an operator is 256 bits. */
export const KEY_SIZE = 32;

/** Domain-separates key ids from any other SHA-256 of the same bytes. */
const KEY_ID_LABEL = Buffer.from("mediagate/key-id/v1\0", "utf8");
/** 48 bits: unique among the handful of keys that ever share a ring or a uid. */
const KEY_ID_BYTES = 6;

/**
 * A 256-bit secret held in a KeyObject. It prints as its id only, so an accidental log line,
 * `JSON.stringify` or `util.inspect` never shows the key itself.
 */
export class SecretKey {
  /** Short, stable, public name of the key: 12 hex digits of a labelled SHA-256 of it. */
  readonly id: string;
  readonly keyObject: KeyObject;

  private constructor(keyObject: KeyObject, id: string) {
    this.keyObject = keyObject;
    this.id = id;
  }

  /** Copies `bytes` (exactly 32 of them); the caller may wipe its own copy afterwards. */
  static fromBytes(bytes: Uint8Array): SecretKey {
    if (bytes.byteLength !== KEY_SIZE) {
      throw new EncryptionError(
        "InvalidKeyMaterial",
        `A key must be ${KEY_SIZE} bytes long, not ${bytes.byteLength}.`,
      );
    }
    return new SecretKey(createSecretKey(bytes), keyId(bytes));
  }

  /** A fresh key from the operating system's CSPRNG. */
  static generate(): SecretKey {
    const bytes = randomBytes(KEY_SIZE);
    try {
      return SecretKey.fromBytes(bytes);
    } finally {
      bytes.fill(0);
    }
  }

  /** The raw key. Only for wrapping it or handing it to a KDF; never log it. */
  exportBytes(): Buffer {
    return this.keyObject.export();
  }

  equals(other: SecretKey): boolean {
    return this.keyObject.equals(other.keyObject);
  }

  toString(): string {
    return `SecretKey(${this.id})`;
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** The public id of a key; safe to store, log and show. */
export function keyId(bytes: Uint8Array): string {
  return createHash("sha256")
    .update(KEY_ID_LABEL)
    .update(bytes)
    .digest()
    .subarray(0, KEY_ID_BYTES)
    .toString("hex");
}

/** A new master key as the operator writes it into ENCRYPTION_KEYS or a key file. */
export function generateMasterKey(): { id: string; base64: string } {
  const bytes = randomBytes(KEY_SIZE);
  try {
    return { id: keyId(bytes), base64: bytes.toString("base64") };
  } finally {
    bytes.fill(0);
  }
}

/** Accepts a SecretKey or raw bytes wherever a key is taken. */
export type KeyInput = SecretKey | Uint8Array;

export function toSecretKey(key: KeyInput): SecretKey {
  return key instanceof SecretKey ? key : SecretKey.fromBytes(key);
}
