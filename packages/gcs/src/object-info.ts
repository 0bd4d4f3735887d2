import type { FileMetadata } from "@google-cloud/storage";
import {
  DEFAULT_CONTENT_TYPE,
  type ListEntry,
  type Metadata,
  type ObjectInfo,
} from "@mediagate/core";

/**
 * GCS's own `etag` changes whenever the object's bytes (a new generation) or its metadata
 * (a new metageneration) change, which is what a validator needs. Emulators that omit it
 * fall back to the content hash, then to the generation.
 */
function etagOf(meta: FileMetadata): string {
  return meta.etag ?? meta.md5Hash ?? String(meta.generation ?? "");
}

function dateOf(value: string | undefined): Date {
  const date = value ? new Date(value) : new Date(Number.NaN);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}

/**
 * GCS carries custom metadata as JSON strings, so values need none of the percent-encoding
 * header-based backends use: they are stored and returned exactly as written.
 */
function metadataOf(meta: FileMetadata): Metadata {
  const out: Metadata = {};
  for (const [k, v] of Object.entries(meta.metadata ?? {})) {
    if (v !== null && v !== undefined) out[k.toLowerCase()] = String(v);
  }
  return out;
}

export function toObjectInfo(key: string, meta: FileMetadata): ObjectInfo {
  return {
    key,
    size: Number(meta.size ?? 0),
    contentType: meta.contentType || DEFAULT_CONTENT_TYPE,
    ...(meta.contentDisposition ? { contentDisposition: meta.contentDisposition } : {}),
    etag: etagOf(meta),
    lastModified: dateOf(meta.updated ?? meta.timeCreated),
    metadata: metadataOf(meta),
  };
}

export function toListEntry(key: string, meta: FileMetadata): ListEntry {
  return {
    key,
    size: Number(meta.size ?? 0),
    lastModified: dateOf(meta.updated ?? meta.timeCreated),
    etag: etagOf(meta),
  };
}
