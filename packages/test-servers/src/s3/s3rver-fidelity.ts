import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3Error, type FilesystemStore, type KoaMiddleware } from "./s3rver-internals.ts";
import {
  UploadRegistry,
  listMultipartUploadsMiddleware,
  multipartMiddleware,
  writePartsWholeOrNotAtAll,
} from "./s3rver-multipart.ts";
import { parsePath, queryString, utf8Greater, xml } from "./s3rver-request.ts";
import { installTagging } from "./s3rver-tagging.ts";

/**
 * s3rver 3.7 differs from Amazon S3 in ways an adapter's tests would trip over (or, worse,
 * be fooled by). These middlewares run inside s3rver, in front of its router, and answer
 * those requests the way S3 documents them, on top of s3rver's own files:
 *
 * - AbortMultipartUpload and ListMultipartUploads are not implemented: here an abort
 *   discards the upload's parts once no part or completion of it is still running, parts or
 *   completions for an upload that no longer exists answer NoSuchUpload, and uploads are
 *   listed as S3 lists them (see `s3rver-multipart.ts`).
 * - Object tags have no limits, leak from a deleted object to the next one under its key,
 *   and come back mangled: see `s3rver-tagging.ts`.
 * - ListObjectsV2 walks directories in readdir order (not S3's UTF-8 key order) and its
 *   continuation tokens need DES, which OpenSSL 3 refuses: listing is answered here.
 * - Ranges: `bytes=-N` is read as `0-N`, `bytes=N-0` as `N-`, and an empty object answers
 *   206: ranged GETs are resolved here with RFC 9110 semantics, like S3.
 * - A part whose client disconnects stays half-written, and its handler never finishes:
 *   parts are written here, and a broken one is removed, as S3 discards it.
 * - A PutObject whose body breaks off leaves its truncated file as the object (S3 never
 *   creates an object from an incomplete PUT): the broken file is removed here.
 * - CopyObject decodes `x-amz-copy-source` with decodeURI, which leaves %2B, %3D, %2C…
 *   encoded, so a source key with '+' or '=' is not found: the header is decoded here as S3
 *   does it, fully, and with a raw '+' read as a space (so a client that forgets to encode
 *   '+' fails here as it would on S3).
 * - A key's last segment becomes a file name with a 15-byte suffix, so a 255-byte segment
 *   (which S3 stores) fails with ENAMETOOLONG: such names are stored under a hash instead.
 *
 * Everything else (objects, metadata, multipart parts, completion) is s3rver's own code.
 */
export function installS3Fidelity(
  store: FilesystemStore,
  root: string,
): {
  middleware: KoaMiddleware[];
  keysIn: (bucket: string) => Promise<string[]>;
  uploads: UploadRegistry;
} {
  const uploads = new UploadRegistry(root);
  const names = storeLongNamesHashed(store);
  writePartsWholeOrNotAtAll(store, uploads);
  writeObjectsWholeOrNotAtAll(store);
  const tagging = installTagging(store);
  return {
    middleware: [
      copySourceMiddleware(),
      tagging,
      multipartMiddleware(uploads),
      listMultipartUploadsMiddleware(uploads),
      listObjectsV2Middleware(store, root, names),
      rangeMiddleware(store),
    ],
    keysIn: (bucket) => allKeys(path.join(root, bucket), names),
    uploads,
  };
}

/**
 * s3rver's object store, except that a PutObject whose body breaks off leaves no object and
 * the previous one (if any) intact. s3rver pipes the body straight into the object's file
 * without listening for the body's errors: an interrupted PUT leaves its truncated file as
 * the object, and the store call never settles. Here the body goes to a temp file beside the
 * object (never listed: its name does not end in the object suffix), renamed into place once
 * complete.
 */
function writeObjectsWholeOrNotAtAll(store: FilesystemStore): void {
  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    if (Buffer.isBuffer(object.content)) return putObject(object);
    const objectPath = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(path.dirname(objectPath), { recursive: true });
    const temp = `${objectPath}.partial-${randomBytes(8).toString("hex")}`;
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
      await pipeline(object.content, measure, createWriteStream(temp));
      await rename(temp, objectPath);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    const digest = md5.digest("hex");
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/** The longest file name Linux filesystems take. */
const NAME_MAX = 255;

/**
 * Routes every file name s3rver would make too long to a hashed stand-in, and returns the
 * way back from stand-in to real segment (for listings).
 */
function storeLongNamesHashed(store: FilesystemStore): (fileSegment: string) => string {
  const originals = new Map<string, string>();
  const resourcePath = store.getResourcePath.bind(store);
  store.getResourcePath = (bucket, key = "", resource) => {
    const parts = key.split("/");
    const last = parts.pop() ?? "";
    if (Buffer.byteLength(`${last}._S3rver_${resource}`) <= NAME_MAX) {
      return resourcePath(bucket, key, resource);
    }
    // '~' never appears in a valid key, so a stand-in cannot collide with a real name.
    const standIn = `~${createHash("sha256").update(last).digest("hex")}`;
    originals.set(standIn, last);
    return resourcePath(bucket, [...parts, standIn].join("/"), resource);
  };
  return (fileSegment) => originals.get(fileSegment) ?? fileSegment;
}

/**
 * S3 URL-decodes the whole copy source, form-style ('+' is a space); s3rver applies
 * decodeURI, which keeps escapes of reserved characters. Handing it a header that decodeURI
 * turns into the source as S3 reads it makes the two agree.
 */
function copySourceMiddleware(): KoaMiddleware {
  return async (ctx, next) => {
    const source = ctx.headers["x-amz-copy-source"];
    if (typeof source === "string") {
      try {
        ctx.headers["x-amz-copy-source"] = encodeURI(
          decodeURIComponent(source.replaceAll("+", " ")),
        );
      } catch {
        // Malformed escapes: left for s3rver to refuse.
      }
    }
    return next();
  };
}

interface ListedObject {
  key: string;
  metadata: Awaited<ReturnType<FilesystemStore["getMetadata"]>>;
}

const OBJECT_SUFFIX = "._S3rver_object";
const UPLOADS_DIR = "._S3rver_uploads";

/** Every key in a bucket, in S3's order (UTF-8 byte order). */
async function allKeys(
  bucketDir: string,
  realName: (fileSegment: string) => string,
): Promise<string[]> {
  const keys: string[] = [];
  const walk = async (dir: string, relative: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      // A folder emptied and removed by a concurrent delete holds no keys; the bucket's own
      // folder missing is the caller's to know.
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && relative !== "") return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (relative === "" && entry.name === UPLOADS_DIR) continue;
        await walk(path.join(dir, entry.name), `${relative}${entry.name}/`);
      } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
        keys.push(relative + realName(entry.name.slice(0, -OBJECT_SUFFIX.length)));
      }
    }
  };
  await walk(bucketDir, "");
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

const encodeToken = (key: string) => Buffer.from(`v1:${key}`).toString("base64url");
const decodeToken = (token: string): string | undefined => {
  const decoded = Buffer.from(token, "base64url").toString();
  return decoded.startsWith("v1:") ? decoded.slice(3) : undefined;
};

function listObjectsV2Middleware(
  store: FilesystemStore,
  root: string,
  realName: (fileSegment: string) => string,
): KoaMiddleware {
  return async (ctx, next) => {
    const target = parsePath(ctx);
    if (ctx.method !== "GET" || queryString(ctx, "list-type") !== "2" || !target || target.key) {
      return next();
    }
    const { bucket } = target;
    const bucketDir = path.join(root, bucket);
    let keys: string[];
    try {
      keys = await allKeys(bucketDir, realName);
    } catch {
      throw new S3Error("NoSuchBucket", "The specified bucket does not exist", {
        BucketName: bucket,
      });
    }

    const prefix = queryString(ctx, "prefix") ?? "";
    const delimiter = queryString(ctx, "delimiter") ?? "";
    const maxKeysParam = queryString(ctx, "max-keys");
    const maxKeys = maxKeysParam === undefined ? 1000 : Number(maxKeysParam);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) {
      throw new S3Error(
        "InvalidArgument",
        "Provided max-keys not an integer or within integer range",
      );
    }
    const token = queryString(ctx, "continuation-token");
    let startAfter = queryString(ctx, "start-after") ?? "";
    if (token !== undefined) {
      const decoded = decodeToken(token);
      if (decoded === undefined) {
        throw new S3Error("InvalidArgument", "The continuation token provided is incorrect");
      }
      startAfter = decoded;
    }

    const contents: ListedObject[] = [];
    const commonPrefixes: string[] = [];
    let truncated = false;
    let last = "";
    for (const key of keys) {
      if (!key.startsWith(prefix) || !utf8Greater(key, startAfter)) continue;
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      const common = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : undefined;
      if (common !== undefined && common === commonPrefixes.at(-1)) continue;
      if (contents.length + commonPrefixes.length >= Math.min(maxKeys, 1000)) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        commonPrefixes.push(common);
        // Continue after every key under this common prefix.
        last = common + "\u{10FFFF}";
      } else {
        contents.push({ key, metadata: await store.getMetadata(bucket, key) });
        last = key;
      }
    }

    const body = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      `<Name>${xml(bucket)}</Name>`,
      `<Prefix>${xml(prefix)}</Prefix>`,
      delimiter ? `<Delimiter>${xml(delimiter)}</Delimiter>` : "",
      `<MaxKeys>${maxKeys}</MaxKeys>`,
      `<KeyCount>${contents.length + commonPrefixes.length}</KeyCount>`,
      `<IsTruncated>${truncated}</IsTruncated>`,
      token !== undefined ? `<ContinuationToken>${xml(token)}</ContinuationToken>` : "",
      truncated ? `<NextContinuationToken>${xml(encodeToken(last))}</NextContinuationToken>` : "",
      ...contents.map(
        ({ key, metadata }) =>
          `<Contents><Key>${xml(key)}</Key>` +
          `<LastModified>${new Date(metadata["last-modified"]).toISOString()}</LastModified>` +
          `<ETag>${xml(metadata.etag)}</ETag><Size>${metadata["content-length"]}</Size>` +
          `<StorageClass>STANDARD</StorageClass></Contents>`,
      ),
      ...commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${xml(p)}</Prefix></CommonPrefixes>`),
      "</ListBucketResult>",
    ].join("");
    ctx.type = "application/xml";
    ctx.body = body;
  };
}

type RangeSpec = { start: number; end: number | undefined } | { suffix: number };

/** One `bytes=` range; anything else S3 ignores and answers with the whole object. */
function parseRange(header: string): RangeSpec | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = "", second = ""] = match;
  if (first === "" && second === "") return undefined;
  if (first === "") return { suffix: Number(second) };
  const start = Number(first);
  const end = second === "" ? undefined : Number(second);
  if (end !== undefined && end < start) return undefined;
  return { start, end };
}

function rangeMiddleware(store: FilesystemStore): KoaMiddleware {
  return async (ctx, next) => {
    const target = parsePath(ctx);
    const header = ctx.headers.range;
    const hasSubresource = Object.keys(ctx.query).some((q) => q !== "x-id");
    if (ctx.method !== "GET" || !target?.key || typeof header !== "string" || hasSubresource) {
      return next();
    }
    // s3rver only ever sees whole-object GETs; the range is resolved on its answer.
    delete ctx.headers.range;
    await next();
    const spec = parseRange(header);
    if (ctx.status !== 200 || spec === undefined) return;

    const size = Number(ctx.length);
    const unsatisfiable = "suffix" in spec ? spec.suffix === 0 || size === 0 : spec.start >= size;
    (ctx.body as Readable).destroy();
    if (unsatisfiable) {
      throw new S3Error("InvalidRange", "The requested range is not satisfiable", {
        RangeRequested: header,
        ActualObjectSize: size,
      });
    }
    const start = "suffix" in spec ? Math.max(0, size - spec.suffix) : spec.start;
    const end = "suffix" in spec ? size - 1 : Math.min(spec.end ?? size - 1, size - 1);
    ctx.status = 206;
    ctx.body = createReadStream(store.getResourcePath(target.bucket, target.key, "object"), {
      start,
      end,
    });
    ctx.length = end - start + 1;
    ctx.set("Content-Range", `bytes ${start}-${end}/${size}`);
  };
}
