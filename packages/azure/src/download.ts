import { Readable } from "node:stream";
import type { BlobClient, BlobDownloadResponseParsed } from "@azure/storage-blob";
import {
  StorageError,
  resolveRange,
  type ByteRange,
  type ReadResult,
  type ResolvedRange,
} from "@mediagate/core";
import { azureErrorCode } from "./errors.ts";
import { objectInfo } from "./object-info.ts";

/** How often a suffix read retries when the blob is replaced between its two requests. */
const SUFFIX_ATTEMPTS = 3;

/**
 * Downloads a blob or a byte range of it with core's range semantics. Azure's own answers
 * differ at the edges — no Range header means 200, a range on an empty blob may come back as
 * 206 `bytes 0--1/0`, and the SDK cannot send suffix ranges at all — so the range is always
 * re-resolved against the size Azure reports, and the bytes served must be exactly those.
 */
export async function download(
  blob: BlobClient,
  key: string,
  range: ByteRange | undefined,
  signal: AbortSignal | undefined,
): Promise<ReadResult> {
  if (!range) {
    const response = await blob.download(0, undefined, { abortSignal: signal });
    return { info: objectInfo(key, response), body: bodyOf(response, key) };
  }
  if ("suffix" in range) return downloadSuffix(blob, key, range, signal);
  const count = range.end === undefined ? undefined : range.end - range.start + 1;
  const response = await blob.download(range.start, count, { abortSignal: signal });
  return ranged(response, key, range);
}

/** The SDK sends `bytes=start-end` only: find the size first, then pin the download to it. */
async function downloadSuffix(
  blob: BlobClient,
  key: string,
  range: { suffix: number },
  signal: AbortSignal | undefined,
): Promise<ReadResult> {
  for (let attempt = 1; ; attempt++) {
    const props = await blob.getProperties({ abortSignal: signal });
    const { start, end } = resolveRange(range, props.contentLength ?? 0, key);
    try {
      const response = await blob.download(start, end - start + 1, {
        abortSignal: signal,
        conditions: { ifMatch: props.etag },
      });
      return ranged(response, key, range);
    } catch (err) {
      // Replaced between the two requests: measure again.
      if (azureErrorCode(err) !== "ConditionNotMet" || attempt >= SUFFIX_ATTEMPTS) throw err;
    }
  }
}

function ranged(response: BlobDownloadResponseParsed, key: string, range: ByteRange): ReadResult {
  const body = bodyOf(response, key);
  try {
    const served = servedRange(response);
    const resolved = resolveRange(range, served.size, key);
    if (served.start !== resolved.start || served.end !== resolved.end) {
      throw new StorageError(
        "Internal",
        `Azure served bytes ${served.start}-${served.end} of "${key}" for ${JSON.stringify(range)}.`,
        { operation: "read", key },
      );
    }
    return { info: objectInfo(key, response, served.size), body, range: resolved };
  } catch (err) {
    body.destroy();
    throw err;
  }
}

/** Which bytes of how large a blob the answer holds: `Content-Range`, or all of it on a 200. */
function servedRange(response: BlobDownloadResponseParsed): ResolvedRange & { size: number } {
  const header = response.contentRange;
  if (!header) {
    const size = response.contentLength ?? 0;
    return { start: 0, end: size - 1, size };
  }
  const match = /^bytes (\d+)-(-?\d+)\/(\d+)$/.exec(header.trim());
  if (!match) {
    throw new StorageError(
      "Internal",
      `Azure answered with an unreadable Content-Range "${header}".`,
      {
        operation: "read",
      },
    );
  }
  return { start: Number(match[1]), end: Number(match[2]), size: Number(match[3]) };
}

function bodyOf(response: BlobDownloadResponseParsed, key: string): Readable {
  const body = response.readableStreamBody;
  if (!(body instanceof Readable)) {
    throw new StorageError("Internal", `Azure's answer for "${key}" has no body stream.`, {
      operation: "read",
      key,
    });
  }
  return body;
}
