import type { IncomingMessage, ServerResponse } from "node:http";
import { GcsApiError } from "./errors.ts";

/** One request as handlers see it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** `http://host:port` as the client addressed the server, for links and session URIs. */
  origin: string;
}

/** Reads a small JSON request body (metadata), refusing anything over `limit` bytes. */
export async function readJsonBody(
  req: AsyncIterable<Buffer>,
  limit = 1024 * 1024,
): Promise<unknown> {
  const text = await readSmallBody(req, limit);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new GcsApiError(400, "Parse Error: the request body is not valid JSON.", "parseError");
  }
}

export async function readSmallBody(req: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new GcsApiError(400, `Metadata body larger than ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads and throws away whatever is left of a request body. */
export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  try {
    for await (const _ of req) {
      // discard
    }
  } catch {
    // The client went away; nothing to answer.
  }
}

export type RangeRequest =
  { kind: "none" } | { kind: "range"; start: number; end: number } | { kind: "unsatisfiable" };

/**
 * A `Range: bytes=…` header against an object of `size` bytes, per RFC 9110. Multiple ranges
 * and malformed headers are ignored (the whole object is served), as GCS does.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header ?? "");
  if (!match || (match[1] === "" && match[2] === "")) return { kind: "none" };
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? Infinity : Number(match[2]);
  // "5-2" is not a valid range at all, so it is ignored rather than refused.
  if (end < start) return { kind: "none" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", start, end: Math.min(end, size - 1) };
}
