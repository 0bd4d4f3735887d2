import { GcsApiError, sendJson } from "./errors.ts";
import type { Exchange } from "./http.ts";
import { parseMultipart } from "./multipart.ts";
import { multipartBoundary } from "./multipart.ts";
import { objectResource } from "./resources.ts";
import {
  assertValidObjectName,
  preconditionsFrom,
  StagedBody,
  type GcsStore,
  type ObjectInit,
  type ObjectPatch,
} from "./store.ts";

const STRING_FIELDS = [
  "contentType",
  "contentDisposition",
  "contentEncoding",
  "contentLanguage",
  "cacheControl",
] as const;

/** The writable fields of an object resource sent as upload metadata, type-checked. */
export function objectInitFrom(json: unknown): ObjectInit & { name?: string } {
  if (json === undefined) return {};
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new GcsApiError(400, "Object metadata must be a JSON object.");
  }
  const input = json as Record<string, unknown>;
  const init: ObjectInit & { name?: string } = {};
  if (input.name !== undefined) {
    if (typeof input.name !== "string") throw new GcsApiError(400, "Invalid value for name.");
    init.name = input.name;
  }
  for (const field of STRING_FIELDS) {
    const value = input[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") throw new GcsApiError(400, `Invalid value for ${field}.`);
    init[field] = value;
  }
  if (input.metadata !== undefined && input.metadata !== null) {
    const metadata = input.metadata;
    if (typeof metadata !== "object" || Array.isArray(metadata)) {
      throw new GcsApiError(400, "Invalid value for metadata.");
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata as Record<string, unknown>)) {
      // GCS stores custom metadata values as strings; null removes a key.
      if (v === null) continue;
      if (typeof v !== "string") throw new GcsApiError(400, `Invalid value for metadata.${k}.`);
      out[k] = v;
    }
    init.metadata = out;
  }
  return init;
}

/** An objects.patch body, type-checked: strings or null for the writable fields. */
export function objectPatchFrom(json: unknown): ObjectPatch {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new GcsApiError(400, "The patch must be a JSON object.");
  }
  const input = json as Record<string, unknown>;
  const patch: ObjectPatch = {};
  for (const field of STRING_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (value !== null && typeof value !== "string") {
      throw new GcsApiError(400, `Invalid value for ${field}.`);
    }
    patch[field] = value;
  }
  const metadata = input.metadata;
  if (metadata === null) patch.metadata = null;
  else if (metadata !== undefined) {
    if (typeof metadata !== "object" || Array.isArray(metadata)) {
      throw new GcsApiError(400, "Invalid value for metadata.");
    }
    const out: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(metadata as Record<string, unknown>)) {
      if (v !== null && typeof v !== "string") {
        throw new GcsApiError(400, `Invalid value for metadata.${k}.`);
      }
      out[k] = v;
    }
    patch.metadata = out;
  }
  return patch;
}

/** The object name from `?name=` or, failing that, the metadata's `name`. */
export function uploadName(url: URL, init: { name?: string }): string {
  const name = url.searchParams.get("name") ?? init.name;
  assertValidObjectName(name);
  return name;
}

/** Streams a request body into staging; a body that stops half-way leaves no file. */
async function stageBody(store: GcsStore, body: AsyncIterable<Buffer>): Promise<StagedBody> {
  const staged = await StagedBody.create(store.stagingDir);
  try {
    for await (const chunk of body) await staged.append(chunk);
    return staged;
  } catch (err) {
    await staged.discard();
    throw err;
  }
}

/** `uploadType=media`: the body is the object; only the name comes from the query. */
export async function mediaUpload(store: GcsStore, ex: Exchange, bucket: string): Promise<void> {
  store.bucket(bucket);
  const name = uploadName(ex.url, {});
  const staged = await stageBody(store, ex.req);
  try {
    const stored = await store.commit(
      bucket,
      name,
      staged,
      { contentType: ex.req.headers["content-type"] || undefined },
      preconditionsFrom(ex.url.searchParams),
    );
    sendJson(ex.res, 200, objectResource(stored, ex.origin));
  } catch (err) {
    await staged.discard();
    throw err;
  }
}

/**
 * `uploadType=multipart`: a `multipart/related` body of exactly two parts, the metadata
 * (JSON) and then the media, whose Content-Type applies when the metadata names none.
 */
export async function multipartUpload(
  store: GcsStore,
  ex: Exchange,
  bucket: string,
): Promise<void> {
  store.bucket(bucket);
  const boundary = multipartBoundary(ex.req.headers["content-type"]);
  let parts = 0;
  const metadataChunks: Buffer[] = [];
  let metadataBytes = 0;
  let mediaType: string | undefined;
  let staged: StagedBody | undefined;
  try {
    for await (const event of parseMultipart(ex.req, boundary)) {
      if (event.type === "part") {
        parts += 1;
        if (parts > 2) break;
        if (parts === 2) {
          mediaType = event.headers["content-type"];
          staged = await StagedBody.create(store.stagingDir);
        }
      } else if (parts === 1) {
        // Kept as bytes until complete: a chunk boundary may split a UTF-8 character.
        metadataChunks.push(event.chunk);
        metadataBytes += event.chunk.length;
        if (metadataBytes > 1024 * 1024) throw new GcsApiError(400, "Metadata part is too large.");
      } else if (staged) {
        await staged.append(event.chunk);
      }
    }
    if (parts !== 2 || !staged) {
      throw new GcsApiError(400, `Multipart upload must have exactly 2 parts; found ${parts}.`);
    }
    const metadataText = Buffer.concat(metadataChunks).toString("utf8");
    let json: unknown;
    try {
      json = metadataText.trim() === "" ? undefined : JSON.parse(metadataText);
    } catch {
      throw new GcsApiError(400, "Parse Error: the metadata part is not valid JSON.", "parseError");
    }
    const init = objectInitFrom(json);
    const name = uploadName(ex.url, init);
    delete init.name;
    init.contentType ??= mediaType;
    const stored = await store.commit(
      bucket,
      name,
      staged,
      init,
      preconditionsFrom(ex.url.searchParams),
    );
    sendJson(ex.res, 200, objectResource(stored, ex.origin));
  } catch (err) {
    await staged?.discard();
    throw err;
  }
}
