import {
  createUidKey,
  isEncryptionError,
  rewrapUidKey,
  unwrapUidKey,
  wrappingKeyId,
  type KeyRing,
  type SecretKey,
} from "@mediagate/encryption";
import type { Ledger } from "@mediagate/ledger";
import { askLedger } from "../custody/ledger-hook.ts";

/** The wrapping context of the shared key (objects without a uid); no uid has letters. */
const SHARED = "shared";

const context = (uid: string | null) => uid ?? SHARED;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
const bytes = (wrapped: string) => new Uint8Array(Buffer.from(wrapped, "utf8"));

/**
 * The middle of the key hierarchy: one key per uid (and one shared key for uploads without
 * a uid), kept in the ledger wrapped by the operator's master key (ENCRYPTION_KEYS), never
 * in the clear. Nothing is cached: erasing a uid deletes its key from the ledger, and from
 * that moment no gateway can read that uid's objects (crypto-shredding).
 */
export class UidKeys {
  readonly #ring: KeyRing;
  readonly #ledger: Ledger;

  constructor(ring: KeyRing, ledger: Ledger) {
    this.#ring = ring;
    this.#ledger = ledger;
  }

  /** The uid's key, made and stored on its first upload (racing gateways agree on one). */
  async forUpload(uid: string | null): Promise<SecretKey> {
    const known = await askLedger(() => this.#ledger.getKey(uid));
    if (known) return unwrapUidKey(this.#ring, text(known.wrapped), context(uid));
    const made = createUidKey(this.#ring, context(uid));
    const stored = await askLedger(() =>
      this.#ledger.putKeyIfAbsent(uid, {
        wrapped: bytes(made.wrapped),
        masterKeyId: wrappingKeyId(made.wrapped),
        createdAt: new Date(),
      }),
    );
    return unwrapUidKey(this.#ring, text(stored.wrapped), context(uid));
  }

  /** The uid's key for reading; undefined once it has been destroyed. */
  async forRead(uid: string | null): Promise<SecretKey | undefined> {
    const known = await askLedger(() => this.#ledger.getKey(uid));
    return known && unwrapUidKey(this.#ring, text(known.wrapped), context(uid));
  }

  /** Destroys the uid's key: its objects are unreadable from now on, copies included. */
  async shred(uid: string): Promise<void> {
    await askLedger(() => this.#ledger.deleteKey(uid));
  }

  /**
   * Re-wraps every uid key not under the newest master key, without touching any object;
   * `progress` is told after each key. Keys whose master key has left the ring are counted
   * as unreadable (they need that key back in ENCRYPTION_KEYS to be rotated).
   */
  async rotate(
    progress: (done: number, total: number) => void = () => undefined,
  ): Promise<{ keys: number; rewrapped: number; unreadable: number }> {
    const result = { keys: 0, rewrapped: 0, unreadable: 0 };
    const total = await this.#count();
    let cursor: string | null = null;
    do {
      const page = await this.#ledger.listKeys({ cursor, limit: 200 });
      for (const key of page.items) {
        result.keys++;
        try {
          const rewrapped = rewrapUidKey(this.#ring, text(key.wrapped), context(key.uid));
          if (rewrapped) {
            const swapped = await this.#ledger.rewrapKey(key.uid, key.masterKeyId, {
              wrapped: bytes(rewrapped),
              masterKeyId: wrappingKeyId(rewrapped),
            });
            if (swapped) result.rewrapped++;
          }
        } catch (err) {
          if (!isEncryptionError(err)) throw err;
          result.unreadable++;
        }
        progress(result.keys, total);
      }
      cursor = page.cursor;
    } while (cursor);
    return result;
  }

  async #count(): Promise<number> {
    let count = 0;
    let cursor: string | null = null;
    do {
      const page = await this.#ledger.listKeys({ cursor, limit: 1000 });
      count += page.items.length;
      cursor = page.cursor;
    } while (cursor);
    return count;
  }
}
