import { KeyPrefix } from "@mediagate/core";
import { z } from "zod";
import { parseDuration, parseSize } from "./units.ts";

/**
 * The one set of field types behind every variable, the gateway's and each provider's:
 * environment values are strings, and each of these turns one into a typed value or an
 * issue whose message completes the sentence "<VARIABLE> …".
 */

/** An issue with `message`, for use inside a transform. */
function refuse(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER as never;
}

export const booleanField = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  return refuse(ctx, "must be true or false");
});

/** A size like `8mb` or plain bytes, inside [min, max]; `range` words the bounds for people. */
export function sizeField(bounds: { min: number; max?: number; range?: string; example?: string }) {
  const { min, max = Number.MAX_SAFE_INTEGER } = bounds;
  const message = bounds.range
    ? `must be a size from ${bounds.range}, like ${bounds.example ?? "8mb"}`
    : `must be a size in bytes or like ${bounds.example ?? "8mb"}`;
  return z.string().transform((text, ctx) => {
    const bytes = parseSize(text);
    if (bytes === undefined || bytes < min || bytes > max) return refuse(ctx, message);
    return bytes;
  });
}

/** A duration in milliseconds (`30s`, `5m`; a bare number is seconds); `0` only if allowed. */
export function durationField(example: string, options: { allowZero?: boolean } = {}) {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || (ms < 1 && !(options.allowZero && ms === 0))) {
      return refuse(
        ctx,
        options.allowZero
          ? `must be a duration like ${example}, or 0 to turn it off`
          : `must be a duration like ${example} (a bare number is seconds)`,
      );
    }
    return ms;
  });
}

export function wholeNumberField(
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  example?: string,
  what = "a whole number",
) {
  const message =
    max === Number.MAX_SAFE_INTEGER
      ? `must be ${what} (≥ ${min})${example ? `, like ${example}` : ""}`
      : `must be ${what} from ${min} to ${max}`;
  return z.string().transform((text, ctx) => {
    const trimmed = text.trim();
    const value = Number(trimmed);
    if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(value) || value < min || value > max) {
      return refuse(ctx, message);
    }
    return value;
  });
}

export const portField = wholeNumberField(0, 65535);

/** One of `values`, case-insensitive. */
export function choiceField<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(values, { message: `must be one of ${values.join(", ")}` }));
}

/** A comma-separated list, trimmed, empty entries dropped; at least one entry. */
export function listField<T>(
  what: string,
  check: (item: string, index: number, ctx: z.RefinementCtx) => T,
) {
  return z.string().transform((text, ctx) => {
    const list = text
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    if (list.length === 0) return refuse(ctx, `must list at least one ${what} (comma-separated)`);
    return list.map((item, i) => check(item, i, ctx));
  });
}

/** Secrets and tokens: long enough, and never quoted in a message (messages reach logs). */
export function secretListField(what: string, minLength: number, unit: "characters" | "bytes") {
  return listField(what, (secret, i, ctx) => {
    const length = unit === "bytes" ? Buffer.byteLength(secret, "utf8") : secret.length;
    if (length < minLength) {
      ctx.addIssue({
        code: "custom",
        message: `${what} ${i + 1} is shorter than ${minLength} ${unit} (generate one with: openssl rand -hex 32)`,
      });
    } else if (unit === "characters" && !/^[\x21-\x7e]+$/.test(secret)) {
      ctx.addIssue({
        code: "custom",
        message: `${what} ${i + 1} must be printable ASCII without spaces`,
      });
    }
    return secret;
  });
}

/** An absolute http(s) URL without credentials, query or fragment; no trailing slash. */
export const baseUrlField = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return refuse(ctx, "must be an absolute URL like https://media.example.com");
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.search ||
    url.hash ||
    url.username
  ) {
    return refuse(ctx, "must be an http(s) URL without credentials, query or fragment");
  }
  return url.href.replace(/\/+$/, "");
});

/** An http(s) URL a request is sent to (a query may carry the receiver's own secret). */
export function endpointUrlField(example: string, protocols = ["http:", "https:"]) {
  return z.string().transform((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text.trim());
    } catch {
      url = undefined;
    }
    if (!url || !protocols.includes(url.protocol) || url.hash) {
      return refuse(ctx, `must be a URL like ${example}`);
    }
    return url.href;
  });
}

export const trustProxyField = z.string().transform((text, ctx): boolean | number => {
  const value = text.trim().toLowerCase();
  if (/^\d+$/.test(value)) return Number(value);
  if (value === "true") return true;
  if (value === "false") return false;
  return refuse(ctx, "must be true, false or a number of proxy hops");
});

export const mediaTypePatternsField = z.string().transform((text, ctx) => {
  const list = text
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  for (const pattern of list) {
    if (!/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/.test(pattern)) {
      ctx.addIssue({
        code: "custom",
        message: `"${pattern}" is not a media type like image/jpeg or image/*`,
      });
    }
  }
  return list;
});

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

/** A path on this machine; relative paths are resolved against the start folder by load.ts. */
export const pathField = z
  .string()
  .trim()
  .min(1, "must name a path")
  .refine((path) => !path.includes("\0"), "must not contain NUL characters");

/** Web origins (`https://app.example.com`), or `*` for any. */
export const originsField = z.string().transform((text, ctx): string[] | "*" => {
  const list = text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 1 && list[0] === "*") return "*";
  if (list.length === 0) return refuse(ctx, "must list origins (comma-separated) or be *");
  for (const origin of list) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || !["http:", "https:"].includes(url.protocol) || url.origin !== origin) {
      ctx.addIssue({
        code: "custom",
        message: `"${origin}" is not an origin like https://app.example.com (scheme, host, optional port; no path or trailing slash)`,
      });
    }
  }
  return list;
});
