import { describe, expect, it } from "vitest";
import { mintUploadToken, parseDuration, verifyUploadToken } from "../src/index.ts";

const secret = "s".repeat(32);
const newSecret = "n".repeat(40);
const now = 1_800_000_000;

describe("upload tokens", () => {
  it("verifies a token for the uid it was minted for", () => {
    const token = mintUploadToken({ secret, uid: 42, ttlSeconds: 3600, now });
    const result = verifyUploadToken(token, { secrets: [secret], uid: "42", now: now + 10 });
    expect(result).toEqual({ ok: true, claims: { uid: "42", exp: now + 3600 } });
  });

  it("refuses the token for any other uid", () => {
    const token = mintUploadToken({ secret, uid: "5", ttlSeconds: 3600, now });
    expect(verifyUploadToken(token, { secrets: [secret], uid: "7", now })).toEqual({
      ok: false,
      reason: "wrong_uid",
    });
  });

  it("names its own uid when the upload names none, still checking signature and expiry", () => {
    const token = mintUploadToken({ secret, uid: "5", ttlSeconds: 60, now });
    expect(verifyUploadToken(token, { secrets: [secret], uid: undefined, now })).toEqual({
      ok: true,
      claims: { uid: "5", exp: now + 60 },
    });
    expect(verifyUploadToken(token, { secrets: [newSecret], uid: undefined, now })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(verifyUploadToken(token, { secrets: [secret], uid: undefined, now: now + 100 })).toEqual(
      {
        ok: false,
        reason: "expired",
      },
    );
  });

  it("refuses expired tokens, allowing only the configured clock skew", () => {
    const token = mintUploadToken({ secret, uid: "1", ttlSeconds: 60, now });
    const check = (at: number) =>
      verifyUploadToken(token, { secrets: [secret], uid: "1", now: at, clockSkewSeconds: 5 });
    expect(check(now + 64).ok).toBe(true);
    expect(check(now + 65)).toEqual({ ok: false, reason: "expired" });
  });

  it("keeps old secrets working during rotation, and only those listed", () => {
    const old = mintUploadToken({ secret, uid: "1", ttlSeconds: 60, now });
    expect(verifyUploadToken(old, { secrets: [newSecret, secret], uid: "1", now }).ok).toBe(true);
    expect(verifyUploadToken(old, { secrets: [newSecret], uid: "1", now })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("detects tampering with the claims", () => {
    const token = mintUploadToken({ secret, uid: "1", ttlSeconds: 60, now });
    const [v, , sig] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ uid: "1", exp: now + 99999 })).toString(
      "base64url",
    );
    expect(
      verifyUploadToken(`${v}.${forged}.${sig}`, { secrets: [secret], uid: "1", now }),
    ).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it.each(["", "mg1", "mg1.a", "mg2.a.b", "mg1.a.b.c", "plain-shared-token"])(
    "reports %j as malformed",
    (token) => {
      expect(verifyUploadToken(token, { secrets: [secret], uid: "1", now })).toEqual({
        ok: false,
        reason: "malformed",
      });
    },
  );

  it("refuses weak secrets and bad arguments when minting", () => {
    expect(() => mintUploadToken({ secret: "short", uid: 1, ttlSeconds: 60 })).toThrow(/32 bytes/);
    expect(() => mintUploadToken({ secret, uid: "", ttlSeconds: 60 })).toThrow(/uid/);
    expect(() => mintUploadToken({ secret, uid: 1, ttlSeconds: 0 })).toThrow(/ttlSeconds/);
  });
});

describe("parseDuration", () => {
  it.each([
    ["90", 90],
    ["90s", 90],
    ["15m", 900],
    ["24h", 86400],
    ["7d", 604800],
    ["2W", 1209600],
  ])("parses %j", (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each(["", "0", "-5m", "1.5h", "10y", "h"])("rejects %j", (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});
