import { type KeyRing } from "./keyring.ts";
import { SecretKey } from "./keys.ts";
import { encodeWrappedKey, unwrapKey, wrapKey, wrappingKeyId } from "./wrap.ts";

/**
 * master key (operator, ENCRYPTION_KEYS) → uid key (one per uid, stored wrapped in the
 * ledger) → data key (one per object, stored wrapped in the object's envelope).
 */
export const UID_KEY_PURPOSE = "uid-key";

export interface NewUidKey {
  key: SecretKey;
  /** What the ledger stores: `mgw1.<master key id>.<blob>`, bound to the uid. */
  wrapped: string;
}

/** A new uid key wrapped by the ring's newest master key. */
export function createUidKey(ring: KeyRing, uid: string): NewUidKey {
  const key = SecretKey.generate();
  return { key, wrapped: wrapUidKey(ring, key, uid) };
}

export function wrapUidKey(ring: KeyRing, key: SecretKey, uid: string): string {
  return encodeWrappedKey(wrapKey(ring.primary, key, { purpose: UID_KEY_PURPOSE, context: uid }));
}

/** Fails with WrongKey when its master key has left the ring, Tampered when it was altered. */
export function unwrapUidKey(ring: KeyRing, wrapped: string, uid: string): SecretKey {
  return unwrapKey(ring, wrapped, { purpose: UID_KEY_PURPOSE, context: uid });
}

/** True when `wrapped` is not yet under the ring's newest master key. */
export function needsRewrap(ring: KeyRing, wrapped: string): boolean {
  return wrappingKeyId(wrapped) !== ring.primary.id;
}

/**
 * Rotation step for one uid: the same uid key, wrapped again by the newest master key.
 * Objects are untouched because the uid key itself does not change. Returns undefined when
 * nothing needs doing.
 */
export function rewrapUidKey(ring: KeyRing, wrapped: string, uid: string): string | undefined {
  if (!needsRewrap(ring, wrapped)) return undefined;
  return wrapUidKey(ring, unwrapUidKey(ring, wrapped, uid), uid);
}
