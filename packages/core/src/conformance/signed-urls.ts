import { describe, expect, it } from "vitest";
import {
  MAX_SIGNED_URL_EXPIRY_SECONDS,
  supportsSignedUrls,
  type SignedUrlCapable,
  type StorageAdapter,
} from "../adapter.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError } from "./errors.ts";

/** The adapter, typed as a signer once the capability has been asserted. */
function signer(ctx: SuiteContext): StorageAdapter & SignedUrlCapable {
  const { adapter } = ctx;
  if (!supportsSignedUrls(adapter)) throw new Error(`${adapter.name} offers no signedUrl`);
  return adapter;
}

export function signedUrlTests(ctx: SuiteContext): void {
  if (!ctx.options.signedUrls) {
    describe("signed URLs", () => {
      it("does not claim the signedUrl capability", () => {
        expect(supportsSignedUrls(ctx.adapter)).toBe(false);
      });
    });
    return;
  }
  describe("signed URLs", () => {
    it("offers the signedUrl capability", () => {
      expect(supportsSignedUrls(ctx.adapter)).toBe(true);
    });

    it("serves the object's bytes and stored content type to a plain fetch", async () => {
      const adapter = signer(ctx);
      const key = `${ctx.freshPrefix()}/signed.txt`;
      await ctx.put(key, "signed body", { contentType: "text/plain" });
      const url = await adapter.signedUrl(key, { expiresIn: 300 });
      expect(url).toMatch(/^https?:\/\//);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("signed body");
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    });

    it("honours contentType and contentDisposition overrides", async () => {
      const adapter = signer(ctx);
      const key = `${ctx.freshPrefix()}/override.bin`;
      await ctx.put(key, "override", { contentType: "application/octet-stream" });
      const disposition = 'attachment; filename="photo 1.jpg"';
      const url = await adapter.signedUrl(key, {
        expiresIn: 300,
        contentType: "image/jpeg",
        contentDisposition: disposition,
      });
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/jpeg");
      expect(response.headers.get("content-disposition")).toBe(disposition);
      expect(await response.text()).toBe("override");
    });

    it("signs keys with spaces, unicode and '+' correctly", async () => {
      const adapter = signer(ctx);
      const key = `${ctx.freshPrefix()}/my photo+1 ü/naïve é.jpg`.normalize("NFC");
      await ctx.put(key, "awkward");
      const response = await fetch(await adapter.signedUrl(key, { expiresIn: 300 }));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("awkward");
    });

    it("rejects expiresIn of 0, fractions, or over 7 days with InvalidArgument", async () => {
      const adapter = signer(ctx);
      const key = `${ctx.freshPrefix()}/expiry`;
      for (const expiresIn of [0, -5, 1.5, MAX_SIGNED_URL_EXPIRY_SECONDS + 1]) {
        await expectStorageError(() => adapter.signedUrl(key, { expiresIn }), "InvalidArgument");
      }
      await ctx.put(key, "week");
      const url = await adapter.signedUrl(key, { expiresIn: MAX_SIGNED_URL_EXPIRY_SECONDS });
      expect(await (await fetch(url)).text()).toBe("week");
    });
  });
}
