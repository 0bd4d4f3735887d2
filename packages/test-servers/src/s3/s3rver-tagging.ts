import { copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { S3Error, type FilesystemStore, type KoaMiddleware } from "./s3rver-internals.ts";
import { hasQuery, parsePath, readBody, unxml, xml } from "./s3rver-request.ts";

/**
 * Object tagging as S3 documents it. s3rver stores whatever tag set it is sent (no limits),
 * reads values back through an XML parser that turns "007" into 7, never removes an object's
 * tags (a new object under the key inherits the old one's), has no DeleteObjectTagging and
 * sends no `x-amz-tagging-count`. Here: Put/Get/DeleteObjectTagging with S3's limits and
 * errors; a tag set belongs to one object, so a PutObject, a completed multipart upload or
 * a DeleteObject drops it and CopyObject copies it to another key (the default
 * `x-amz-tagging-directive: COPY`); GET and HEAD report `x-amz-tagging-count`.
 *
 * Not modelled: tags given with `x-amz-tagging` on PutObject/CreateMultipartUpload and
 * `x-amz-tagging-directive: REPLACE` on a copy (ignored, as s3rver does).
 */

type Tag = { key: string; value: string };

/** AWS's documented rule for tag keys and values. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAGS = 10;

/** A 400 answer: s3rver's status table has no InvalidTag and says 403 for BadRequest. */
function badTagging(code: string, message: string): Error {
  return Object.assign(new S3Error(code, message), { status: 400, expose: true });
}

function invalidTag(message: string): Error {
  return badTagging("InvalidTag", message);
}

/** Parses and checks a `<Tagging><TagSet><Tag>…` document the way S3 does. */
function parseTagging(body: string): Tag[] {
  if (!/^\s*(<\?xml[^>]*\?>\s*)?<Tagging[\s>][\s\S]*<\/Tagging>\s*$/.test(body)) {
    throw new S3Error(
      "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published schema",
    );
  }
  const tags: Tag[] = [];
  for (const match of body.matchAll(/<Tag>([\s\S]*?)<\/Tag>/g)) {
    const inner = match[1] ?? "";
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(inner)?.[1];
    const value = /<Value>([\s\S]*?)<\/Value>/.exec(inner)?.[1] ?? "";
    if (key === undefined) throw invalidTag("The TagKey you have provided is invalid");
    tags.push({ key: unxml(key), value: unxml(value) });
  }
  if (tags.length > MAX_TAGS) {
    throw badTagging("BadRequest", "Object tags cannot be greater than 10");
  }
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    // S3 counts UTF-16 code units.
    if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key) || key.startsWith("aws:")) {
      throw invalidTag("The TagKey you have provided is invalid");
    }
    if (value.length > 256 || !TAG_TEXT.test(value)) {
      throw invalidTag("The TagValue you have provided is invalid");
    }
    if (seen.has(key)) throw invalidTag("Cannot provide multiple Tags with the same key");
    seen.add(key);
  }
  return tags;
}

function taggingXml(tags: Tag[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>',
    ...tags.map((t) => `<Tag><Key>${xml(t.key)}</Key><Value>${xml(t.value)}</Value></Tag>`),
    "</TagSet></Tagging>",
  ].join("");
}

export function installTagging(store: FilesystemStore): KoaMiddleware {
  const file = (bucket: string, key: string) => store.getResourcePath(bucket, key, "tagging.xml");
  const read = async (bucket: string, key: string): Promise<Tag[]> => {
    try {
      return parseTagging(await readFile(file(bucket, key), "utf8"));
    } catch {
      return [];
    }
  };
  const drop = (bucket: string, key: string) => rm(file(bucket, key), { force: true });

  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    const result = await putObject(object);
    await drop(object.bucket, object.key);
    return result;
  };
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    await drop(bucket, key);
    await deleteObject(bucket, key);
  };
  const copyObject = store.copyObject.bind(store);
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacement) => {
    const result = await copyObject(srcBucket, srcKey, destBucket, destKey, replacement);
    if (srcBucket !== destBucket || srcKey !== destKey) {
      await copyFile(file(srcBucket, srcKey), file(destBucket, destKey)).catch(() =>
        drop(destBucket, destKey),
      );
    }
    return result;
  };

  return async (ctx, next) => {
    const target = parsePath(ctx);
    if (!target?.key) return next();
    const { bucket, key } = target;
    if (!hasQuery(ctx, "tagging")) {
      await next();
      if (
        (ctx.method === "GET" || ctx.method === "HEAD") &&
        ctx.status >= 200 &&
        ctx.status < 300
      ) {
        const count = (await read(bucket, key)).length;
        if (count > 0) ctx.set("x-amz-tagging-count", String(count));
      }
      return;
    }
    if (!["GET", "PUT", "DELETE"].includes(ctx.method)) return next();
    const tags = ctx.method === "PUT" ? parseTagging(await readBody(ctx)) : [];
    if (!(await store.existsObject(bucket, key))) {
      throw new S3Error("NoSuchKey", "The specified key does not exist.", { Key: key });
    }
    if (ctx.method === "GET") {
      ctx.type = "application/xml";
      ctx.body = taggingXml(await read(bucket, key));
    } else if (ctx.method === "PUT") {
      await writeFile(file(bucket, key), taggingXml(tags));
      ctx.status = 200;
      ctx.body = "";
    } else {
      await drop(bucket, key);
      ctx.status = 204;
    }
  };
}
