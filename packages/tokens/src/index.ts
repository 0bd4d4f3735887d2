import { createHmac, timingSafeEqual } from "node:crypto";

export { parseDuration } from "./duration.ts";

/**
 * Upload tokens an app's own server mints per user: `mg1.<payload>.<signature>`, where the
 * payload is base64url JSON `{"uid":"42","exp":1767225600}` and the signature is
 * HMAC-SHA256 over `mg1.<payload>` with a secret shared with the gateway. The uid binding
 * means a token stolen from one user's device cannot upload as anyone else; the expiry
 * bounds how long a stolen token is worth anything.
 */
const VERSION = "mg1";
/** Secrets shorter than this are guessable offline from a single token. */
export const MIN_SECRET_BYTES = 32;
/** Longest uid accepted inside a token, matching the gateway's uid field limit. */
const MAX_UID_LENGTH = 128;

export interface MintOptions {
  secret: string;
  uid: string | number;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

export interface TokenClaims {
  uid: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type VerifyFailure = "malformed" | "bad_signature" | "expired" | "wrong_uid";

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: VerifyFailure };

export interface VerifyOptions {
  /**
   * Every secret currently accepted, newest first. During rotation the old secret stays in
   * the list until every token minted with it has expired.
   */
  secrets: readonly string[];
  /**
   * The uid the upload claims; the token must have been minted for exactly this uid. Absent
   * (the upload names none), the token's own uid is the uploader's.
   */
  uid: string | undefined;
  now?: number;
  /** Tolerated clock difference between the minting server and the gateway, in seconds. */
  clockSkewSeconds?: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function assertUsableSecret(secret: string, name = "secret"): void {
  if (Buffer.byteLength(secret, "utf8") < MIN_SECRET_BYTES) {
    throw new Error(`${name} must be at least ${MIN_SECRET_BYTES} bytes long.`);
  }
}

function sign(secret: string, signedPart: string): Buffer {
  return createHmac("sha256", secret).update(signedPart).digest();
}

export function mintUploadToken(options: MintOptions): string {
  assertUsableSecret(options.secret);
  const uid = String(options.uid);
  if (uid === "" || uid.length > MAX_UID_LENGTH) {
    throw new Error(`uid must be 1 to ${MAX_UID_LENGTH} characters.`);
  }
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new Error("ttlSeconds must be a positive whole number.");
  }
  const claims: TokenClaims = { uid, exp: (options.now ?? nowSeconds()) + options.ttlSeconds };
  const signedPart = `${VERSION}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${signedPart}.${sign(options.secret, signedPart).toString("base64url")}`;
}

/** Whether a string is shaped like a minted token (for choosing how to check it). */
export function looksLikeUploadToken(token: string): boolean {
  return token.startsWith(`${VERSION}.`);
}

export function verifyUploadToken(token: string, options: VerifyOptions): VerifyResult {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== VERSION) return { ok: false, reason: "malformed" };
  const [, payload = "", signature = ""] = parts;
  const given = Buffer.from(signature, "base64url");
  const signedPart = `${VERSION}.${payload}`;
  // Compare against every secret, without stopping early, so timing says nothing about which
  // secret (if any) matched.
  let valid = false;
  for (const secret of options.secrets) {
    const expected = sign(secret, signedPart);
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  if (!valid) return { ok: false, reason: "bad_signature" };

  const claims = parseClaims(payload);
  if (!claims) return { ok: false, reason: "malformed" };
  if (claims.exp + (options.clockSkewSeconds ?? 30) <= (options.now ?? nowSeconds())) {
    return { ok: false, reason: "expired" };
  }
  if (options.uid !== undefined && claims.uid !== options.uid) {
    return { ok: false, reason: "wrong_uid" };
  }
  return { ok: true, claims };
}

function parseClaims(payload: string): TokenClaims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    if (typeof value !== "object" || value === null) return undefined;
    const { uid, exp } = value as Record<string, unknown>;
    if (typeof uid !== "string" || !Number.isSafeInteger(exp)) return undefined;
    return { uid, exp: exp as number };
  } catch {
    return undefined;
  }
}
