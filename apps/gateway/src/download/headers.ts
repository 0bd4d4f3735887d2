import type { ObjectInfo } from "@mediagate/core";
import { cleanFileName } from "../upload/metadata.ts";
import { FALLBACK_TYPE, normalizeContentType } from "../upload/content-type.ts";

/** Objects never change once stored (every upload gets a new key). */
export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";

/**
 * Even if a browser renders a stored object as a page, it gets no script, no plugins, no
 * forms, no same-origin access: the gateway's origin cannot be borrowed by an upload.
 */
export const SANDBOX_CSP =
  "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'";

/**
 * Types shown in the browser: media that cannot run code. Everything else — HTML, SVG, XML,
 * JavaScript, PDF, unknown types — is sent as an attachment, so it is saved, not rendered.
 */
const INLINE_TYPES =
  /^(image\/(png|jpeg|gif|webp|avif|bmp|heic|heif|tiff)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|text\/plain)$/;

export function isInlineType(contentType: string): boolean {
  return INLINE_TYPES.test(contentType.split(";")[0]?.trim() ?? "");
}

/**
 * RFC 6266 Content-Disposition with the file name twice: an ASCII fallback in `filename`
 * and the exact name, percent-encoded per RFC 8187 (5987), in `filename*`.
 */
export function contentDisposition(type: "inline" | "attachment", name: string): string {
  const clean = cleanFileName(name);
  if (!clean) return type;
  const fallback = clean
    .replace(/[^\x20-\x7e]/gu, "_")
    .replace(/["\\]/g, "_")
    .replace(/%/g, "_");
  const encoded = encodeURIComponent(clean).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** The strong validator for HTTP, from the adapter's unquoted etag. */
export function quotedEtag(info: ObjectInfo): string {
  return `"${info.etag.replace(/"/g, "")}"`;
}

/** The headers every successful download (200, 206, 304) carries. */
export function objectHeaders(info: ObjectInfo): Record<string, string> {
  const storedType = normalizeContentType(info.contentType);
  const type = storedType || FALLBACK_TYPE;
  const name = info.metadata.filename || info.key.split("/").pop() || "";
  return {
    "Content-Type": type,
    ETag: quotedEtag(info),
    "Last-Modified": info.lastModified.toUTCString(),
    "Cache-Control": IMMUTABLE_CACHE,
    "Accept-Ranges": "bytes",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": SANDBOX_CSP,
    "Content-Disposition": contentDisposition(isInlineType(type) ? "inline" : "attachment", name),
    "Cross-Origin-Resource-Policy": "cross-origin",
  };
}
