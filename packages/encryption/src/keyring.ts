import { EncryptionError } from "./errors.ts";
import { KEY_SIZE, SecretKey, toSecretKey, type KeyInput } from "./keys.ts";

const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

export interface ParseOptions {
  /** How errors name the input, e.g. "ENCRYPTION_KEYS" or "the key file /etc/mediagate/keys". */
  name?: string;
}

/**
 * The operator's master keys, newest first. The newest wraps everything new; every key in
 * the ring can unwrap, so a key stays in the ring until nothing wrapped by it is left.
 */
export class KeyRing {
  readonly keys: readonly SecretKey[];
  private readonly byId: ReadonlyMap<string, SecretKey>;

  private constructor(keys: readonly SecretKey[]) {
    this.keys = Object.freeze([...keys]);
    this.byId = new Map(keys.map((key) => [key.id, key]));
  }

  /** Keys given directly, newest first. */
  static fromKeys(keys: readonly KeyInput[], options: ParseOptions = {}): KeyRing {
    const name = options.name ?? "The key ring";
    const secrets = keys.map(toSecretKey);
    if (secrets.length === 0) {
      throw new EncryptionError("InvalidKeyMaterial", `${name} has no key.`);
    }
    const seen = new Map<string, number>();
    secrets.forEach((key, i) => {
      const earlier = seen.get(key.id);
      if (earlier !== undefined) {
        throw new EncryptionError(
          "InvalidKeyMaterial",
          `${name} lists key ${key.id} twice (entries ${earlier + 1} and ${i + 1}).`,
        );
      }
      seen.set(key.id, i);
    });
    return new KeyRing(secrets);
  }

  /**
   * Parses `ENCRYPTION_KEYS` (base64 keys separated by commas, newest first) or the contents
   * of a key file (one key per line, `#` comments and blank lines ignored). Errors are one
   * sentence naming the entry by position; they never repeat what the entry contains.
   */
  static parse(text: string, options: ParseOptions = {}): KeyRing {
    const name = options.name ?? "ENCRYPTION_KEYS";
    const entries = text
      .split(/\r\n|\r|\n/)
      .map((line) => line.replace(/#.*$/s, ""))
      .flatMap((line) => line.split(/[\s,]+/))
      .filter((entry) => entry !== "");
    const keys = entries.map((entry, i) => decodeKey(entry, `${name} entry ${i + 1}`));
    try {
      return KeyRing.fromKeys(keys, { name });
    } finally {
      for (const key of keys) key.fill(0);
    }
  }

  /** The newest key: the one that wraps new material. */
  get primary(): SecretKey {
    return this.keys[0] as SecretKey;
  }

  get ids(): string[] {
    return this.keys.map((key) => key.id);
  }

  get(id: string): SecretKey | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  toString(): string {
    return `KeyRing(${this.ids.join(", ")})`;
  }

  toJSON(): { ids: string[] } {
    return { ids: this.ids };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** Decodes one base64 (or base64url) key; `what` names it in errors. */
export function decodeKey(entry: string, what: string): Buffer {
  const hint = "each key must be 32 random bytes in base64 (mediagate keys generate makes one)";
  if (HEX_KEY.test(entry)) {
    throw new EncryptionError("InvalidKeyMaterial", `${what} looks like hex; ${hint}.`);
  }
  if (!BASE64.test(entry)) {
    throw new EncryptionError("InvalidKeyMaterial", `${what} is not base64; ${hint}.`);
  }
  const bytes = Buffer.from(entry, "base64");
  if (bytes.length !== KEY_SIZE) {
    const length = bytes.length;
    bytes.fill(0);
    throw new EncryptionError("InvalidKeyMaterial", `${what} decodes to ${length} bytes; ${hint}.`);
  }
  if (
    bytes.toString("base64url") !== entry.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")
  ) {
    bytes.fill(0);
    throw new EncryptionError("InvalidKeyMaterial", `${what} is not canonical base64; ${hint}.`);
  }
  if (bytes.every((byte) => byte === bytes[0])) {
    bytes.fill(0);
    throw new EncryptionError(
      "InvalidKeyMaterial",
      `${what} repeats one byte, so it is a placeholder, not a key; ${hint}.`,
    );
  }
  return bytes;
}
