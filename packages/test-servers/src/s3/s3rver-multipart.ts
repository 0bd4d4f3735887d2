import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3Error, type FilesystemStore, type KoaMiddleware } from "./s3rver-internals.ts";
import { parsePath, queryString, hasQuery, utf8Compare, xml } from "./s3rver-request.ts";

/**
 * Multipart uploads as S3 documents them, on s3rver's own files
 * (`<root>/<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,<part>}`): s3rver has neither
 * AbortMultipartUpload nor ListMultipartUploads, lets a part recreate an aborted upload,
 * and keeps a half-written part when its client disconnects.
 */

/** s3rver's only account: every upload's initiator and owner. */
const ACCOUNT = { id: "123456789000", displayName: "S3rver" };

/** Open multipart uploads on disk, and the requests still running for each. */
export class UploadRegistry {
  private readonly running = new Map<string, Set<Promise<void>>>();
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  directory(bucket: string, uploadId: string): string {
    return path.join(this.root, bucket, "._S3rver_uploads", uploadId);
  }

  /** The key the upload was created for, or undefined when the upload does not exist. */
  async keyOf(bucket: string, uploadId: string): Promise<string | undefined> {
    if (!/^[0-9a-f]+$/.test(uploadId)) return undefined;
    try {
      return await readFile(path.join(this.directory(bucket, uploadId), "key"), "utf8");
    } catch {
      return undefined;
    }
  }

  /** Every open upload of a bucket with its key and initiation time (its `key` file's mtime). */
  async list(bucket: string): Promise<{ key: string; uploadId: string; initiated: Date }[]> {
    let ids: string[];
    try {
      ids = await readdir(path.join(this.root, bucket, "._S3rver_uploads"));
    } catch {
      return [];
    }
    const found = await Promise.all(
      ids.map(async (uploadId) => {
        const file = path.join(this.directory(bucket, uploadId), "key");
        try {
          const [key, info] = await Promise.all([readFile(file, "utf8"), stat(file)]);
          return { key, uploadId, initiated: info.mtime };
        } catch {
          return undefined; // aborted or completed meanwhile
        }
      }),
    );
    return found.filter((u) => u !== undefined);
  }

  /** Moves an upload's initiation into the past, as if it had been begun `ageMs` ago. */
  async backdate(bucket: string, uploadId: string, ageMs: number): Promise<void> {
    const when = new Date(Date.now() - ageMs);
    await utimes(path.join(this.directory(bucket, uploadId), "key"), when, when);
  }

  track(uploadId: string, done: Promise<void>): void {
    const set = this.running.get(uploadId) ?? new Set();
    set.add(done);
    this.running.set(uploadId, set);
    void done.finally(() => set.delete(done));
  }

  /** Resolves once no part or completion request for the upload is still running. */
  async quiesce(uploadId: string): Promise<void> {
    const set = this.running.get(uploadId);
    while (set && set.size > 0) await Promise.allSettled([...set]);
  }
}

function noSuchUpload(uploadId: string): Error {
  return new S3Error(
    "NoSuchUpload",
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    { UploadId: uploadId },
  );
}

/** s3rver's part store, except that a part whose body breaks off leaves no file behind. */
export function writePartsWholeOrNotAtAll(store: FilesystemStore, uploads: UploadRegistry): void {
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = path.join(uploads.directory(bucket, uploadId), partNumber);
    await mkdir(path.dirname(partPath), { recursive: true });
    const md5 = createHash("md5");
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(content, measure, createWriteStream(partPath));
    } catch (err) {
      await rm(partPath, { force: true });
      throw err;
    }
    const digest = md5.digest("hex");
    await writeFile(`${partPath}.md5`, digest);
    return { size, md5: digest };
  };
}

/**
 * AbortMultipartUpload, and NoSuchUpload for parts and completions of an upload that no
 * longer exists. S3 completes or aborts an upload atomically: an abort waits for the parts
 * and the completion still running, then answers NoSuchUpload if the completion won.
 */
export function multipartMiddleware(uploads: UploadRegistry): KoaMiddleware {
  return async (ctx, next) => {
    const uploadId = queryString(ctx, "uploadId");
    const target = parsePath(ctx);
    if (uploadId === undefined || !target?.key) return next();
    const { bucket, key } = target;

    if (ctx.method === "DELETE") {
      await uploads.quiesce(uploadId);
      if ((await uploads.keyOf(bucket, uploadId)) !== key) throw noSuchUpload(uploadId);
      await rm(uploads.directory(bucket, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      return;
    }

    if (ctx.method === "PUT" || ctx.method === "POST") {
      // Tracked before the existence check, so an abort arriving meanwhile waits for it.
      let settle: (() => void) | undefined;
      uploads.track(uploadId, new Promise<void>((r) => (settle = r)));
      try {
        // s3rver would recreate the directory of an aborted upload for a late part.
        if ((await uploads.keyOf(bucket, uploadId)) !== key) throw noSuchUpload(uploadId);
        return await next();
      } finally {
        settle?.();
      }
    }
    return next();
  };
}

interface ListedUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Orders uploads as S3 lists them: by key (UTF-8), then by initiation, then by id. */
function byListingOrder(a: ListedUpload, b: ListedUpload): number {
  return (
    utf8Compare(a.key, b.key) ||
    a.initiated.getTime() - b.initiated.getTime() ||
    a.uploadId.localeCompare(b.uploadId)
  );
}

/**
 * ListMultipartUploads (`GET /bucket?uploads`) per the S3 API reference: `prefix`,
 * `delimiter` (→ CommonPrefixes), `max-uploads` (≤ 1000), `key-marker` with
 * `upload-id-marker`, `NextKeyMarker`/`NextUploadIdMarker`, and `encoding-type=url`.
 */
export function listMultipartUploadsMiddleware(uploads: UploadRegistry): KoaMiddleware {
  return async (ctx, next) => {
    const target = parsePath(ctx);
    if (ctx.method !== "GET" || !target || target.key || !hasQuery(ctx, "uploads")) {
      return next();
    }
    const { bucket } = target;
    const prefix = queryString(ctx, "prefix") ?? "";
    const delimiter = queryString(ctx, "delimiter") ?? "";
    const keyMarker = queryString(ctx, "key-marker") ?? "";
    const uploadIdMarker = queryString(ctx, "upload-id-marker") ?? "";
    const encoding = queryString(ctx, "encoding-type");
    const maxParam = queryString(ctx, "max-uploads");
    const maxUploads = maxParam === undefined ? 1000 : Number(maxParam);
    if (!Number.isInteger(maxUploads) || maxUploads < 0) {
      throw new S3Error(
        "InvalidArgument",
        "Argument max-uploads must be an integer between 0 and 2147483647",
      );
    }
    if (encoding !== undefined && encoding !== "url") {
      throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
    }
    const enc = (value: string) => xml(encoding === "url" ? encodeURIComponent(value) : value);

    const all = (await uploads.list(bucket)).sort(byListingOrder);
    const markerIndex = uploadIdMarker
      ? all.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker)
      : -1;
    const after = (u: ListedUpload, index: number) => {
      if (markerIndex >= 0) return index > markerIndex;
      const order = keyMarker === "" ? 1 : utf8Compare(u.key, keyMarker);
      return order > 0 || (order === 0 && uploadIdMarker !== "" && u.uploadId > uploadIdMarker);
    };

    const listed: ListedUpload[] = [];
    const commonPrefixes: string[] = [];
    let nextMarker: { key: string; uploadId?: string } | undefined;
    let truncated = false;
    for (const [index, upload] of all.entries()) {
      if (!upload.key.startsWith(prefix) || !after(upload, index)) continue;
      const rest = upload.key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      const common = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : undefined;
      if (common !== undefined && common === commonPrefixes.at(-1)) {
        // Continue after every upload under this common prefix.
        nextMarker = { key: upload.key };
        continue;
      }
      if (listed.length + commonPrefixes.length >= Math.min(maxUploads, 1000)) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        commonPrefixes.push(common);
        nextMarker = { key: upload.key };
      } else {
        listed.push(upload);
        nextMarker = { key: upload.key, uploadId: upload.uploadId };
      }
    }
    const person = `<ID>${ACCOUNT.id}</ID><DisplayName>${ACCOUNT.displayName}</DisplayName>`;
    ctx.type = "application/xml";
    ctx.body = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      `<Bucket>${xml(bucket)}</Bucket>`,
      `<KeyMarker>${enc(keyMarker)}</KeyMarker>`,
      `<UploadIdMarker>${xml(uploadIdMarker)}</UploadIdMarker>`,
      truncated && nextMarker ? `<NextKeyMarker>${enc(nextMarker.key)}</NextKeyMarker>` : "",
      truncated && nextMarker?.uploadId
        ? `<NextUploadIdMarker>${xml(nextMarker.uploadId)}</NextUploadIdMarker>`
        : "",
      encoding ? `<EncodingType>${xml(encoding)}</EncodingType>` : "",
      delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : "",
      `<Prefix>${enc(prefix)}</Prefix>`,
      `<MaxUploads>${maxUploads}</MaxUploads>`,
      `<IsTruncated>${truncated}</IsTruncated>`,
      ...listed.map(
        (u) =>
          `<Upload><Key>${enc(u.key)}</Key><UploadId>${xml(u.uploadId)}</UploadId>` +
          `<Initiator>${person}</Initiator><Owner>${person}</Owner>` +
          `<StorageClass>STANDARD</StorageClass>` +
          `<Initiated>${u.initiated.toISOString()}</Initiated></Upload>`,
      ),
      ...commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`),
      "</ListMultipartUploadsResult>",
    ].join("");
  };
}
