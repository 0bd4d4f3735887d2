import { createHash } from "node:crypto";

/**
 * Remembers recent "allowed" answers for a short time, bounded in size (the oldest entry
 * goes first). Entries are keyed by a SHA-256 of the token and uid, so the raw token is
 * never held as a key and a heap dump does not list tokens.
 */
export class AllowCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #expiries = new Map<string, number>();

  constructor(ttlMs: number, maxEntries: number) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  static key(token: string, uid: string): string {
    return createHash("sha256").update(token).update("\0").update(uid).digest("base64url");
  }

  has(key: string, now = Date.now()): boolean {
    const expiry = this.#expiries.get(key);
    if (expiry === undefined) return false;
    if (expiry > now) return true;
    this.#expiries.delete(key);
    return false;
  }

  add(key: string, now = Date.now()): void {
    if (this.#ttlMs <= 0) return;
    this.#expiries.delete(key);
    this.#expiries.set(key, now + this.#ttlMs);
    // Maps iterate in insertion order, so the first key is the oldest.
    while (this.#expiries.size > this.#maxEntries) {
      const oldest = this.#expiries.keys().next().value;
      if (oldest === undefined) break;
      this.#expiries.delete(oldest);
    }
  }
}
