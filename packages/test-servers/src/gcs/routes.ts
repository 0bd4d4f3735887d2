import { GcsApiError, sendJson, XmlApiError } from "./errors.ts";
import type { Exchange } from "./http.ts";
import { drain, readJsonBody } from "./http.ts";
import { sendMedia } from "./media.ts";
import { bucketResource, objectResource } from "./resources.ts";
import type { ResumableSessions } from "./resumable.ts";
import type { V4Verifier } from "./signed-urls.ts";
import { checkPreconditions, preconditionsFrom, type GcsStore } from "./store.ts";
import { mediaUpload, multipartUpload, objectPatchFrom } from "./uploads.ts";

export interface Services {
  store: GcsStore;
  sessions: ResumableSessions;
  verifier: V4Verifier;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GcsApiError(
      400,
      `Malformed percent-encoding in path segment ${JSON.stringify(segment)}.`,
    );
  }
}

/** Path segments, split before decoding so an encoded `%2F` stays inside an object name. */
function segmentsOf(rawUrl: string): string[] {
  const rawPath = rawUrl.split("?")[0] ?? "/";
  return rawPath.split("/").slice(1).map(decodeSegment);
}

const methodNotAllowed = (ex: Exchange) =>
  new GcsApiError(
    405,
    `Method ${ex.req.method} is not allowed on ${ex.url.pathname}.`,
    "methodNotAllowed",
  );

/**
 * Dispatches a request. JSON API paths are served both with the `/storage/v1` prefix (what
 * clients send with an `apiEndpoint`) and without it (what they send with
 * `STORAGE_EMULATOR_HOST`); uploads live under `/upload/storage/v1`, media downloads also
 * under `/download/storage/v1`; any other path is an XML API object URL
 * (`/BUCKET/OBJECT`), served only with a valid V4 signature.
 */
export async function route(services: Services, ex: Exchange): Promise<void> {
  const segments = segmentsOf(ex.req.url ?? "/");
  const head = segments.slice(0, 3).join("/");
  if (head === "upload/storage/v1") return uploadRoute(services, ex, segments.slice(3));
  if (head === "download/storage/v1") return jsonRoute(services, ex, segments.slice(3), true);
  if (segments[0] === "storage" && segments[1] === "v1")
    return jsonRoute(services, ex, segments.slice(2), false);
  // Bucket names are at least 3 characters, so "/b/…" can only be the JSON API.
  if (segments[0] === "b" || (segments.length === 1 && segments[0] === "")) {
    return jsonRoute(services, ex, segments, false);
  }
  return xmlObjectRoute(services, ex, segments);
}

async function jsonRoute(
  services: Services,
  ex: Exchange,
  segments: string[],
  mediaOnly: boolean,
): Promise<void> {
  const { store } = services;
  const { req, res, url, origin } = ex;
  const method = req.method ?? "GET";
  if (segments[0] !== "b") throw new GcsApiError(404, `Not Found: ${url.pathname}`);
  const bucket = segments[1];

  if (bucket === undefined || bucket === "") {
    if (method === "GET") {
      const items = store.listBuckets().map((b) => bucketResource(b, origin));
      sendJson(res, 200, { kind: "storage#buckets", ...(items.length > 0 && { items }) });
      return;
    }
    if (method === "POST") {
      const project = url.searchParams.get("project");
      if (!project) throw new GcsApiError(400, "Required parameter: project", "required");
      const body = await readJsonBody(req);
      const name = (body as { name?: unknown } | undefined)?.name;
      const created = store.createBucket(name);
      sendJson(res, 200, bucketResource(created, origin));
      return;
    }
    throw methodNotAllowed(ex);
  }

  if (segments.length === 2) {
    if (method === "GET") {
      sendJson(res, 200, bucketResource(store.bucket(bucket), origin));
      return;
    }
    if (method === "DELETE") {
      store.deleteBucket(bucket);
      res.writeHead(204).end();
      return;
    }
    throw methodNotAllowed(ex);
  }

  if (segments[2] !== "o") throw new GcsApiError(404, `Not Found: ${url.pathname}`);
  if (segments.length === 3) {
    if (method !== "GET") throw methodNotAllowed(ex);
    listObjects(services, ex, bucket);
    return;
  }

  const name = segments.slice(3).join("/");
  const generation = url.searchParams.get("generation");
  if (method === "GET") {
    const found = store.object(bucket, name, generation);
    // Reads honour the same preconditions as writes (412 when they do not hold).
    checkPreconditions(found, preconditionsFrom(url.searchParams));
    if (mediaOnly || url.searchParams.get("alt") === "media") {
      await sendMedia(ex, found);
      return;
    }
    sendJson(res, 200, objectResource(found, origin));
    return;
  }
  if (method === "PATCH" && !mediaOnly) {
    const patch = objectPatchFrom(await readJsonBody(req));
    const patched = store.patchObject(
      bucket,
      name,
      patch,
      preconditionsFrom(url.searchParams),
      generation,
    );
    sendJson(res, 200, objectResource(patched, origin));
    return;
  }
  if (method === "DELETE" && !mediaOnly) {
    await store.deleteObject(bucket, name, preconditionsFrom(url.searchParams), generation);
    res.writeHead(204).end();
    return;
  }
  throw methodNotAllowed(ex);
}

function listObjects({ store }: Services, { res, url, origin }: Exchange, bucket: string): void {
  const q = url.searchParams;
  const maxParam = q.get("maxResults");
  const maxResults = maxParam === null ? 1000 : Number(maxParam);
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    throw new GcsApiError(400, `Invalid value for maxResults: ${maxParam}`);
  }
  const token = q.get("pageToken");
  let after: string | undefined;
  if (token) {
    after = Buffer.from(token, "base64url").toString("utf8");
    if (Buffer.from(after, "utf8").toString("base64url") !== token) {
      throw new GcsApiError(400, "Invalid page token.");
    }
  }
  const page = store.list(bucket, {
    prefix: q.get("prefix") ?? "",
    delimiter: q.get("delimiter") || undefined,
    after,
    startOffset: q.get("startOffset") ?? undefined,
    endOffset: q.get("endOffset") ?? undefined,
    // GCS answers at most 1000 entries a page, whatever maxResults asks for.
    maxResults: Math.min(maxResults, 1000),
    includeTrailingDelimiter: q.get("includeTrailingDelimiter") === "true",
  });
  sendJson(res, 200, {
    kind: "storage#objects",
    ...(page.resumeAfter !== undefined && {
      nextPageToken: Buffer.from(page.resumeAfter, "utf8").toString("base64url"),
    }),
    ...(page.prefixes.length > 0 && { prefixes: page.prefixes }),
    ...(page.items.length > 0 && { items: page.items.map((o) => objectResource(o, origin)) }),
  });
}

async function uploadRoute(services: Services, ex: Exchange, segments: string[]): Promise<void> {
  const { req, url } = ex;
  if (segments[0] !== "b" || !segments[1] || segments[2] !== "o" || segments.length !== 3) {
    throw new GcsApiError(404, `Not Found: ${url.pathname}`);
  }
  const bucket = segments[1];
  const uploadId = url.searchParams.get("upload_id");
  if (uploadId) {
    if (req.method === "PUT" || req.method === "POST") return services.sessions.put(ex, uploadId);
    if (req.method === "DELETE") return services.sessions.cancel(ex, uploadId);
    throw methodNotAllowed(ex);
  }
  if (req.method !== "POST") throw methodNotAllowed(ex);
  const uploadType = url.searchParams.get("uploadType");
  if (uploadType === "media") return mediaUpload(services.store, ex, bucket);
  if (uploadType === "multipart") return multipartUpload(services.store, ex, bucket);
  if (uploadType === "resumable") return services.sessions.start(ex, bucket);
  await drain(req);
  throw new GcsApiError(
    400,
    `Invalid upload type: ${uploadType ?? "(none)"}. Use media, multipart or resumable.`,
  );
}

/** `GET|HEAD /BUCKET/OBJECT` with a V4 signature: what a signed URL points at. */
async function xmlObjectRoute(services: Services, ex: Exchange, segments: string[]): Promise<void> {
  const { req, url } = ex;
  if (req.method !== "GET" && req.method !== "HEAD") {
    throw new XmlApiError(405, "MethodNotAllowed", `Method ${req.method} is not served here.`);
  }
  const [bucket, ...rest] = segments;
  const name = rest.join("/");
  if (!bucket || !name)
    throw new XmlApiError(404, "NoSuchKey", "The specified key does not exist.");
  services.verifier.verify(ex);
  let found;
  try {
    found = services.store.object(bucket, name);
  } catch (err) {
    if (err instanceof GcsApiError && err.status === 404) {
      throw new XmlApiError(404, "NoSuchKey", "The specified key does not exist.");
    }
    throw err;
  }
  await sendMedia(ex, found, {
    contentType: url.searchParams.get("response-content-type") ?? undefined,
    contentDisposition: url.searchParams.get("response-content-disposition") ?? undefined,
    customMetadataHeaders: true,
  });
}
