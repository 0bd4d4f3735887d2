import {
  DEFAULT_CONTENT_TYPE,
  StorageError,
  decodeMetadata,
  type ObjectInfo,
  type ResolvedRange,
} from "@mediagate/core";
import { FINAL_MARKER_KEY } from "./final-tags.ts";

/** The fields HeadObject and GetObject answers share. */
export interface S3ObjectHeaders {
  ContentLength?: number;
  ContentType?: string;
  ContentDisposition?: string;
  ETag?: string;
  LastModified?: Date;
  Metadata?: Record<string, string>;
}

/** S3 quotes ETags; the contract wants the bare validator. */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? "").replace(/^(W\/)?"(.*)"$/, "$2");
}

export function toObjectInfo(key: string, headers: S3ObjectHeaders, size: number): ObjectInfo {
  if (headers.ETag === undefined || headers.LastModified === undefined) {
    throw new StorageError(
      "Internal",
      `The store answered for "${key}" without an ETag or Last-Modified.`,
      {
        key,
      },
    );
  }
  // The adapter's own bookkeeping (see final-tags.ts), never the caller's metadata.
  const { [FINAL_MARKER_KEY]: _marker, ...metadata } = decodeMetadata(headers.Metadata);
  return {
    key,
    size,
    contentType: headers.ContentType || DEFAULT_CONTENT_TYPE,
    ...(headers.ContentDisposition ? { contentDisposition: headers.ContentDisposition } : {}),
    etag: bareEtag(headers.ETag),
    lastModified: headers.LastModified,
    metadata,
  };
}

/** `bytes 0-9/100` → the range and the whole object's size. */
export function parseContentRange(
  value: string | undefined,
): { range: ResolvedRange; size: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? "");
  if (!match) return undefined;
  return { range: { start: Number(match[1]), end: Number(match[2]) }, size: Number(match[3]) };
}
