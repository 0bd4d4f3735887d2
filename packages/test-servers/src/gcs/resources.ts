import { createHash } from "node:crypto";
import type { StoredBucket, StoredObject } from "./store.ts";

/**
 * The JSON API's `etag` is opaque and changes with the generation and the metageneration;
 * GCS derives it from both, and so does this server.
 */
export function objectEtag(o: StoredObject): string {
  return createHash("sha1")
    .update(`${o.bucket}/${o.name}#${o.generation}.${o.metageneration}`)
    .digest("base64")
    .slice(0, 16);
}

/** An object resource as `objects.get` / `objects.insert` answer it (numbers as strings). */
export function objectResource(o: StoredObject, origin: string) {
  const path = `b/${encodeURIComponent(o.bucket)}/o/${encodeURIComponent(o.name)}`;
  return {
    kind: "storage#object",
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${origin}/storage/v1/${path}`,
    mediaLink: `${origin}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: String(o.metageneration),
    contentType: o.contentType,
    ...(o.contentDisposition !== undefined && { contentDisposition: o.contentDisposition }),
    ...(o.contentEncoding !== undefined && { contentEncoding: o.contentEncoding }),
    ...(o.contentLanguage !== undefined && { contentLanguage: o.contentLanguage }),
    ...(o.cacheControl !== undefined && { cacheControl: o.cacheControl }),
    storageClass: "STANDARD",
    size: String(o.size),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: objectEtag(o),
    timeCreated: o.timeCreated.toISOString(),
    updated: o.updated.toISOString(),
    timeStorageClassUpdated: o.timeCreated.toISOString(),
    ...(o.metadata && Object.keys(o.metadata).length > 0 && { metadata: o.metadata }),
  };
}

export function bucketResource(b: StoredBucket, origin: string) {
  return {
    kind: "storage#bucket",
    id: b.name,
    selfLink: `${origin}/storage/v1/b/${encodeURIComponent(b.name)}`,
    projectNumber: b.projectNumber,
    name: b.name,
    timeCreated: b.timeCreated.toISOString(),
    updated: b.timeCreated.toISOString(),
    metageneration: String(b.metageneration),
    location: "US",
    locationType: "multi-region",
    storageClass: "STANDARD",
    etag: createHash("sha1").update(`${b.name}#${b.metageneration}`).digest("base64").slice(0, 8),
  };
}
