import { GcsApiError } from "./errors.ts";

export type MultipartEvent =
  { type: "part"; headers: Record<string, string> } | { type: "data"; chunk: Buffer };

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

/** The boundary parameter of a `multipart/related` Content-Type, or a 400. */
export function multipartBoundary(contentType: string | undefined): string {
  const match = /^multipart\/related\s*;(?:.*;)?\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(
    contentType ?? "",
  );
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) {
    throw new GcsApiError(
      400,
      "uploadType=multipart requires a multipart/related Content-Type with a boundary.",
    );
  }
  return boundary;
}

/**
 * Splits a `multipart/related` body (RFC 2046) into parts as it streams: yields each part's
 * headers, then its bytes in pieces, never holding more than one network chunk plus a
 * delimiter's length. Ends after the closing delimiter; a body that stops before it is a 400.
 */
export async function* parseMultipart(
  body: AsyncIterable<Buffer>,
  boundary: string,
): AsyncGenerator<MultipartEvent> {
  // Treating the body as if it started with CRLF makes every delimiter "\r\n--boundary".
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let pending: Buffer = CRLF;
  let state: "preamble" | "after-delimiter" | "headers" | "body" | "done" = "preamble";
  const chunks = body[Symbol.asyncIterator]();
  let ended = false;

  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      return false;
    }
    pending = pending.length ? Buffer.concat([pending, next.value]) : next.value;
    return true;
  };

  while (state !== "done") {
    if (state === "preamble" || state === "body") {
      const at = pending.indexOf(delimiter);
      if (at >= 0) {
        if (state === "body" && at > 0) yield { type: "data", chunk: pending.subarray(0, at) };
        pending = pending.subarray(at + delimiter.length);
        state = "after-delimiter";
        continue;
      }
      // Keep a possible partial delimiter at the end; the rest is settled.
      const safe = pending.length - (delimiter.length - 1);
      if (safe > 0) {
        if (state === "body") yield { type: "data", chunk: pending.subarray(0, safe) };
        pending = pending.subarray(safe);
      }
      if (!(await more()))
        throw new GcsApiError(400, "Multipart body ended before its closing delimiter.");
    } else if (state === "after-delimiter") {
      if (pending.length < 2 && (await more())) continue;
      if (pending.subarray(0, 2).toString() === "--") {
        state = "done";
        continue;
      }
      // Transport padding (spaces/tabs) may follow a delimiter before its CRLF.
      const eol = pending.indexOf(CRLF);
      if (eol < 0) {
        if (pending.length > 1024 || !(await more()))
          throw new GcsApiError(400, "Malformed multipart delimiter line.");
        continue;
      }
      if (!/^[ \t]*$/.test(pending.subarray(0, eol).toString("latin1"))) {
        throw new GcsApiError(400, "Malformed multipart delimiter line.");
      }
      pending = pending.subarray(eol + 2);
      state = "headers";
    } else {
      // A part with no headers starts straight with CRLF.
      if (pending.length >= 2 && pending[0] === 13 && pending[1] === 10) {
        pending = pending.subarray(2);
        yield { type: "part", headers: {} };
        state = "body";
        continue;
      }
      const end = pending.indexOf(HEADER_END);
      if (end < 0) {
        if (pending.length > MAX_HEADER_BYTES || !(await more())) {
          throw new GcsApiError(400, "Malformed multipart part headers.");
        }
        continue;
      }
      yield { type: "part", headers: parseHeaders(pending.subarray(0, end).toString("utf8")) };
      pending = pending.subarray(end + HEADER_END.length);
      state = "body";
    }
  }
  // Whatever follows the closing delimiter is the epilogue, which RFC 2046 says to ignore.
  while (await more()) pending = Buffer.alloc(0);
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new GcsApiError(400, "Malformed multipart part headers.");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}
