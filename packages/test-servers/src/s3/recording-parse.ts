import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { S3Operation } from "./recording-types.ts";

/** Request parsing and body inspection for the recording proxy. */

export function classify(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  q: URLSearchParams,
  copy: boolean,
): S3Operation {
  if (!bucket) return method === "GET" ? "ListBuckets" : "Other";
  if (!key) {
    if (method === "PUT" && q.size === 0) return "CreateBucket";
    if (method === "HEAD") return "HeadBucket";
    if (method === "DELETE") return "DeleteBucket";
    if (method === "POST" && q.has("delete")) return "DeleteObjects";
    if (method === "GET" && q.has("uploads")) return "ListMultipartUploads";
    if (method === "GET") return q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
    return "Other";
  }
  if (q.has("uploadId")) {
    if (method === "PUT") return "UploadPart";
    if (method === "POST") return "CompleteMultipartUpload";
    if (method === "DELETE") return "AbortMultipartUpload";
    if (method === "GET") return "ListParts";
    return "Other";
  }
  if (q.has("tagging")) {
    if (method === "PUT") return "PutObjectTagging";
    if (method === "GET") return "GetObjectTagging";
    if (method === "DELETE") return "DeleteObjectTagging";
    return "Other";
  }
  if (method === "POST" && q.has("uploads")) return "CreateMultipartUpload";
  if (method === "GET") return "GetObject";
  if (method === "HEAD") return "HeadObject";
  if (method === "DELETE") return "DeleteObject";
  // A PUT naming a copy source is CopyObject, not an upload of a body.
  if (method === "PUT") return copy ? "CopyObject" : "PutObject";
  return "Other";
}

export function s3ErrorBody(code: string, message: string): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error>`;
}

/**
 * Counts body bytes, drops the connection at a byte offset when told to, and holds back the
 * last chunk until the SHA-256 the client signed is confirmed, so a body that does not match
 * its signature never reaches the server complete (S3 rejects those: XAmzContentSHA256Mismatch).
 */
export class BodyInspector extends Transform {
  private readonly hash;
  private held: Buffer | undefined;
  /** Told the running total; returns true when the exchange was cut off. */
  private readonly onBytes: (total: number) => boolean;
  private readonly expected: string | undefined;
  private readonly flushDelayMs: number;
  private total = 0;

  constructor(
    expectedSha256: string | undefined,
    onBytes: (total: number) => boolean,
    flushDelayMs = 0,
  ) {
    super();
    this.expected = expectedSha256;
    this.flushDelayMs = flushDelayMs;
    this.hash = expectedSha256 ? createHash("sha256") : undefined;
    this.onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    this.hash?.update(chunk);
    if (this.onBytes(this.total)) {
      this.destroy();
      return;
    }
    if (this.held) this.push(this.held);
    this.held = chunk;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.hash && this.hash.digest("hex") !== this.expected) {
      callback(
        Object.assign(new Error("payload hash mismatch"), { code: "XAmzContentSHA256Mismatch" }),
      );
      return;
    }
    const release = () => {
      if (this.held) this.push(this.held);
      callback();
    };
    if (this.flushDelayMs > 0) setTimeout(release, this.flushDelayMs);
    else release();
  }
}
