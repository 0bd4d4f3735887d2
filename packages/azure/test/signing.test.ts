/**
 * The validity a user-delegation SAS signer asks Azure for. Azure checks a key's expiry
 * against its own clock, so these are plain computations checked here; credentials.test.ts
 * proves against Azurite that URLs signed this way work.
 */
import { MAX_SIGNED_URL_EXPIRY_SECONDS } from "@mediagate/core";
import { describe, expect, it } from "vitest";
import {
  DELEGATION_KEY_MARGIN_MS,
  delegationKeyWindow,
  delegationSasExpiry,
} from "../src/signing.ts";

const WEEK_MS = MAX_SIGNED_URL_EXPIRY_SECONDS * 1000;
const now = Date.UTC(2025, 0, 1, 12, 0, 0);

describe("delegationKeyWindow", () => {
  it("asks for a key that ends a safety margin short of seven days", () => {
    const { startsOn, expiresOn } = delegationKeyWindow(now);
    expect(expiresOn.getTime()).toBe(now + WEEK_MS - DELEGATION_KEY_MARGIN_MS);
    expect(expiresOn.getTime()).toBeLessThan(now + WEEK_MS);
    expect(startsOn.getTime()).toBeLessThan(now);
  });

  it("is still within Azure's seven days when our clock runs up to the margin ahead", () => {
    const azureNow = now - DELEGATION_KEY_MARGIN_MS + 1000; // our clock is ~15 minutes fast
    expect(delegationKeyWindow(now).expiresOn.getTime()).toBeLessThanOrEqual(azureNow + WEEK_MS);
  });

  it("is a few minutes short, not hours", () => {
    expect(DELEGATION_KEY_MARGIN_MS).toBeGreaterThanOrEqual(60_000);
    expect(DELEGATION_KEY_MARGIN_MS).toBeLessThanOrEqual(30 * 60_000);
  });
});

describe("delegationSasExpiry", () => {
  const key = delegationKeyWindow(now).expiresOn;

  it("keeps the requested expiry when the key covers it", () => {
    const requested = new Date(now + 3600_000);
    expect(delegationSasExpiry(requested, key)).toEqual(requested);
    expect(delegationSasExpiry(key, key)).toEqual(key);
  });

  it("never ends after the key that signs it", () => {
    const requested = new Date(now + WEEK_MS);
    const expiry = delegationSasExpiry(requested, key);
    expect(expiry.getTime()).toBe(key.getTime());
    expect(requested.getTime() - expiry.getTime()).toBe(DELEGATION_KEY_MARGIN_MS);
  });
});
