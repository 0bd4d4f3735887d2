/**
 * Untimed checks that each configuration took the path it is said to measure: without them
 * a misconfigured gateway (stripping skipped, encryption off) would report a cost of zero
 * and look like good news.
 */
import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { payloadStream } from "../payload.ts";
import type { BenchGateway } from "./gateways.ts";
import { locationTags, type MediaFile } from "./media.ts";
import { middleRange } from "./measure.ts";

/** Where the gateway serves downloads; the rest of the path is the object's key. */
const FILES_PREFIX = "/files/";

/** Bytes `start` to `start + length` of the payload every upload sends. */
async function payloadSlice(start: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  let offset = 0;
  for await (const chunk of payloadStream(start + length)) {
    const buf = chunk as Buffer;
    const from = Math.max(0, start - offset);
    if (from < buf.length) buf.copy(out, offset + from - start, from);
    offset += buf.length;
  }
  return out;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Buffer> {
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return body;
}

/**
 * Whether the store holds the plaintext (its first 64 KiB are the bytes sent), and whether a
 * ranged GET from the middle gives back exactly the bytes sent there (decryption included).
 */
export async function checkStoredBytes(
  gateway: BenchGateway,
  url: string,
  size: number,
): Promise<{ plaintextAtRest: boolean; rangeIntact: boolean }> {
  const key = decodeURIComponent(new URL(url).pathname.slice(FILES_PREFIX.length));
  const head = Math.min(64 * 1024, size);
  const stored = Buffer.alloc(head);
  const file = await open(join(gateway.root, key), "r");
  try {
    await file.read(stored, 0, head, 0);
  } finally {
    await file.close();
  }
  const range = middleRange(size);
  const length = range.end - range.start + 1;
  const served = await get(url, { range: `bytes=${range.start}-${range.end}` });
  return {
    plaintextAtRest: stored.equals(await payloadSlice(0, head)),
    rangeIntact: served.equals(await payloadSlice(range.start, length)),
  };
}

/** The location tags exiftool finds in the file as the gateway serves it back. */
export async function servedLocationTags(
  url: string,
  file: MediaFile,
  dir: string,
  label: string,
): Promise<string[]> {
  const path = join(dir, `${label}-${file.name}`);
  await writeFile(path, await get(url));
  return locationTags(path);
}
