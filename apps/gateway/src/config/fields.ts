import { KeyPrefix } from "@mediagate/core";
import { z } from "zod";
import { parseSize } from "./units.ts";

/**
 * Field types shared by the gateway's own settings and every provider's: environment values
 * are strings, and each of these turns one into a typed value or an issue whose message
 * completes the sentence "<VARIABLE> …".
 */

export const booleanField = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  ctx.addIssue({ code: "custom", message: "must be true or false" });
  return z.NEVER;
});

/** A size like `8mb` or plain bytes, inside [min, max]; `range` words the bounds for people. */
export function sizeField(bounds: { min: number; max?: number; range?: string }) {
  const { min, max = Number.MAX_SAFE_INTEGER } = bounds;
  const message = bounds.range
    ? `must be a size from ${bounds.range}, like 8mb`
    : "must be a size in bytes or like 8mb";
  return z.string().transform((text, ctx) => {
    const bytes = parseSize(text);
    if (bytes === undefined || bytes < min || bytes > max) {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    }
    return bytes;
  });
}

export function wholeNumberField(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message);
}

/** A namespace inside a bucket, checked by the same rules adapters apply to it. */
export const keyPrefixField = z
  .string()
  .trim()
  .refine((text) => {
    try {
      new KeyPrefix(text);
      return true;
    } catch {
      return false;
    }
  }, "must be a key prefix like tenant-a/media (letters, digits, '-', '_', '.' segments)");
