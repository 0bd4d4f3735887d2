import type { ByteRange } from "@mediagate/core";

/**
 * A single byte range from a Range header, or undefined when the header is absent, not a
 * bytes range, malformed, or asks for several ranges: RFC 9110 lets a server ignore such a
 * header and send the whole object, which every client handles.
 */
export function parseRange(header: string | undefined): ByteRange | undefined {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") return { suffix: Number(last) };
  const start = Number(first);
  if (last === "") return { start };
  const end = Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  return { start, end };
}

const ENTITY_TAG = /(?:W\/)?"[^"]*"|\*/g;

/** If-None-Match against the object's (quoted) ETag, with the weak comparison RFC 9110 asks. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const tags = header.match(ENTITY_TAG) ?? [];
  const opaque = (tag: string) => tag.replace(/^W\//, "");
  return tags.some((tag) => tag === "*" || opaque(tag) === opaque(etag));
}

/**
 * If-Range: the range applies only while the client's validator still names this object's
 * bytes (strong ETag match, or the exact Last-Modified date).
 */
export function rangeStillValid(
  header: string | undefined,
  etag: string,
  lastModified: Date,
): boolean {
  if (!header) return true;
  const value = header.trim();
  if (value.startsWith('"')) return value === etag;
  if (value.startsWith("W/")) return false;
  const date = Date.parse(value);
  return (
    Number.isFinite(date) && Math.floor(lastModified.getTime() / 1000) === Math.floor(date / 1000)
  );
}

/** If-Modified-Since, used only when there is no If-None-Match (RFC 9110 §13.1.3). */
export function notModifiedSince(header: string | undefined, lastModified: Date): boolean {
  if (!header) return false;
  const date = Date.parse(header);
  return (
    Number.isFinite(date) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(date / 1000)
  );
}
