import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { GcsApiError } from "./errors.ts";
import type { Exchange } from "./http.ts";
import { parseRange } from "./http.ts";
import { objectEtag } from "./resources.ts";
import type { StoredObject } from "./store.ts";

export interface MediaOverrides {
  contentType?: string | undefined;
  contentDisposition?: string | undefined;
  customMetadataHeaders?: boolean;
}

/**
 * Serves an object's bytes the way a media download (`alt=media`) or an XML API GET does:
 * the object's own headers, `x-goog-*` headers, and single byte ranges (206/416).
 */
export async function sendMedia(
  { req, res }: Exchange,
  o: StoredObject,
  overrides: MediaOverrides = {},
): Promise<void> {
  const headers: Record<string, string | number> = {
    "content-type": overrides.contentType ?? o.contentType ?? "application/octet-stream",
    etag: `"${objectEtag(o)}"`,
    "last-modified": o.updated.toUTCString(),
    "accept-ranges": "bytes",
    "cache-control": o.cacheControl ?? "private, max-age=0",
    "x-goog-generation": o.generation,
    "x-goog-metageneration": String(o.metageneration),
    "x-goog-stored-content-encoding": o.contentEncoding ?? "identity",
    "x-goog-stored-content-length": o.size,
    "x-goog-hash": `crc32c=${o.crc32c},md5=${o.md5Hash}`,
  };
  const disposition = overrides.contentDisposition ?? o.contentDisposition;
  if (disposition !== undefined) headers["content-disposition"] = disposition;
  if (o.contentLanguage !== undefined) headers["content-language"] = o.contentLanguage;
  if (o.contentEncoding !== undefined) headers["content-encoding"] = o.contentEncoding;
  if (overrides.customMetadataHeaders) {
    // The XML API returns custom metadata as headers (the JSON API only in the resource).
    // Values that are not printable ASCII cannot travel in a header and are left out.
    for (const [k, v] of Object.entries(o.metadata ?? {})) {
      if (/^[\x20-\x7e]*$/.test(v)) headers[`x-goog-meta-${k}`] = v;
    }
  }

  const range = parseRange(req.headers.range, o.size);
  if (range.kind === "unsatisfiable") {
    const text = "The requested range cannot be satisfied.";
    res.writeHead(416, {
      "content-range": `bytes */${o.size}`,
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
    return;
  }
  const start = range.kind === "range" ? range.start : 0;
  const end = range.kind === "range" ? range.end : o.size - 1;
  if (range.kind === "range") {
    headers["content-range"] = `bytes ${start}-${end}/${o.size}`;
    // Checksums describe the whole object, not the slice being sent.
    delete headers["x-goog-hash"];
  }
  headers["content-length"] = end - start + 1;
  if (req.method === "HEAD" || o.size === 0) {
    res.writeHead(range.kind === "range" ? 206 : 200, headers);
    res.end();
    return;
  }
  // Open before answering: once open, a replacing upload may unlink the file and this
  // download still reads the generation it announced.
  const file = await open(o.path).catch(() => {
    throw new GcsApiError(404, `No such object: ${o.bucket}/${o.name}`);
  });
  res.writeHead(range.kind === "range" ? 206 : 200, headers);
  await pipeline(file.createReadStream({ start, end }), res).catch(() => {
    // The client stopped reading (seeking video, aborted download): nothing to answer.
  });
}
