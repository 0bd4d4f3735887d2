import type { KoaContext } from "./s3rver-internals.ts";

/** Helpers the fidelity middlewares share for reading requests and writing S3 XML. */

export interface ObjectPath {
  bucket: string;
  key: string | undefined;
}

/**
 * Path-style addressing only: `/bucket` or `/bucket/key…`. Koa's path is still
 * percent-encoded, while s3rver stores keys decoded: decode, or a key with a space, '+' or
 * non-ASCII never matches its own multipart upload.
 */
export function parsePath(ctx: KoaContext): ObjectPath | undefined {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
  if (!match?.[1]) return undefined;
  return { bucket: match[1], key: match[2] ? decodePathSegment(match[2]) : undefined };
}

function decodePathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export const queryString = (ctx: KoaContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[0] : value;
};

export const hasQuery = (ctx: KoaContext, name: string): boolean => name in ctx.query;

/** Whether `a` sorts after `b` in S3's order (UTF-8 bytes). */
export const utf8Greater = (a: string, b: string) =>
  Buffer.compare(Buffer.from(a), Buffer.from(b)) > 0;

export const utf8Compare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export const xml = (value: string | number) =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );

export const unxml = (value: string) =>
  value.replace(/&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-f]+));/gi, (_m, name: string, d, h) => {
    if (d) return String.fromCodePoint(Number(d));
    if (h) return String.fromCodePoint(parseInt(h as string, 16));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[name.toLowerCase()] ?? "";
  });

/** Reads a small request body (an XML document) whole. */
export async function readBody(ctx: KoaContext, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error("request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
