import { createHash } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Transform, type TransformCallback } from "node:stream";
import { verifySigV4, type SecretLookup } from "./sigv4.ts";

/**
 * An HTTP proxy in front of an S3 server that records every request as an S3 operation,
 * checks SigV4 signatures and payload hashes the way S3 does, and can inject faults. It is
 * how tests see what an adapter actually sent (AbortMultipartUpload after a failure, no part
 * after the abort, at most `queueSize` parts at a time) instead of trusting its own account.
 */

export type S3Operation =
  | "ListBuckets"
  | "CreateBucket"
  | "HeadBucket"
  | "DeleteBucket"
  | "ListObjectsV2"
  | "ListObjects"
  | "ListMultipartUploads"
  | "DeleteObjects"
  | "PutObject"
  | "CopyObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "Other";

export interface S3RecordedRequest {
  /** 1, 2, 3… in arrival order. */
  readonly id: number;
  readonly operation: S3Operation;
  readonly method: string;
  /** The request target exactly as received. */
  readonly url: string;
  readonly bucket: string | undefined;
  /** Decoded object key, when the request names one. */
  readonly key: string | undefined;
  readonly uploadId: string | undefined;
  readonly partNumber: number | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Position on the proxy's event clock when the request arrived. */
  readonly startedAt: number;
  /** Position on the event clock when the exchange ended (answered or abandoned). */
  endedAt: number | undefined;
  /** Status the client got; undefined if it got none. */
  status: number | undefined;
  /** Status the server behind the proxy answered, when the request reached it. */
  upstreamStatus: number | undefined;
  /** Request body bytes the proxy received. */
  bytesIn: number;
  /**
   * answered: the client got a complete answer; client-aborted: the client went away first;
   * fault: an injected fault ended it; rejected: the proxy refused it (signature, hash).
   */
  outcome: "answered" | "client-aborted" | "fault" | "rejected" | undefined;
  /** Why the proxy refused it, when it did. */
  problem: string | undefined;
}

export type S3ProxyFault =
  /** Answer with an S3 error without forwarding (the body is not read). */
  | { type: "error"; status: number; code: string; message?: string }
  /** Drop the connection once this many body bytes have arrived (default 0). */
  | { type: "reset"; afterBytes?: number }
  /** Take the request (and its body) but never answer, until the client gives up. */
  | { type: "hang" }
  /** Let the server act on the request, but never pass its answer on (a lost response). */
  | { type: "lose-answer" };

export interface S3FaultRule {
  match: (request: S3RecordedRequest) => boolean;
  fault: S3ProxyFault;
  /** How many requests it hits; unlimited by default (SDKs retry). */
  times?: number;
}

export interface S3InjectedFault {
  /** Requests it has hit so far. */
  readonly hits: number;
  remove(): void;
}

export interface S3RecordingProxyOptions {
  /** Where requests go: `http://host:port`. */
  target: string;
  /** When given, every signed request must carry a valid SigV4 signature for these keys. */
  secretFor?: SecretLookup;
  /** Loopback port to listen on; a free one by default. */
  port?: number;
}

export interface S3RecordingProxy {
  readonly endpoint: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly S3RecordedRequest[];
  /** Requests of one kind, optionally only those about one key. */
  requestsFor(operation: S3Operation, key?: string): S3RecordedRequest[];
  /** Resolves when every recorded exchange has ended. */
  idle(): Promise<void>;
  injectFault(rule: S3FaultRule): S3InjectedFault;
  clear(): void;
  stop(): Promise<void>;
}

function classify(
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
  if (method === "POST" && q.has("uploads")) return "CreateMultipartUpload";
  if (method === "GET") return "GetObject";
  if (method === "HEAD") return "HeadObject";
  if (method === "DELETE") return "DeleteObject";
  // A PUT naming a copy source is CopyObject, not an upload of a body.
  if (method === "PUT") return copy ? "CopyObject" : "PutObject";
  return "Other";
}

function s3ErrorBody(code: string, message: string): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error>`;
}

/**
 * Counts body bytes, drops the connection at a byte offset when told to, and holds back the
 * last chunk until the SHA-256 the client signed is confirmed, so a body that does not match
 * its signature never reaches the server complete (S3 rejects those: XAmzContentSHA256Mismatch).
 */
class BodyInspector extends Transform {
  private readonly hash;
  private held: Buffer | undefined;
  /** Told the running total; returns true when the exchange was cut off. */
  private readonly onBytes: (total: number) => boolean;
  private readonly expected: string | undefined;
  private total = 0;

  constructor(expectedSha256: string | undefined, onBytes: (total: number) => boolean) {
    super();
    this.expected = expectedSha256;
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
    if (this.held) this.push(this.held);
    callback();
  }
}

export async function startS3RecordingProxy(
  options: S3RecordingProxyOptions,
): Promise<S3RecordingProxy> {
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true });
  const requests: S3RecordedRequest[] = [];
  const open = new Set<Promise<void>>();
  const rules: { rule: S3FaultRule; hits: number; removed: boolean }[] = [];
  let lastId = 0;
  let clock = 0;
  const tick = () => ++clock;

  const pickFault = (record: S3RecordedRequest): S3ProxyFault | undefined => {
    for (const entry of rules) {
      if (entry.removed || entry.hits >= (entry.rule.times ?? Infinity)) continue;
      if (!entry.rule.match(record)) continue;
      entry.hits++;
      return entry.rule.fault;
    }
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    const url = req.url ?? "/";
    const parsed = new URL(url, "http://proxy.invalid");
    const [, rawBucket, ...rawKey] = parsed.pathname.split("/");
    const bucket = rawBucket ? decodeURIComponent(rawBucket) : undefined;
    const key =
      rawKey.length > 0 && rawKey.join("/") !== ""
        ? decodeURIComponent(rawKey.join("/"))
        : undefined;
    const part = parsed.searchParams.get("partNumber");
    const record: S3RecordedRequest = {
      id: ++lastId,
      operation: classify(
        req.method ?? "GET",
        bucket,
        key,
        parsed.searchParams,
        req.headers["x-amz-copy-source"] !== undefined,
      ),
      method: req.method ?? "GET",
      url,
      bucket,
      key,
      uploadId: parsed.searchParams.get("uploadId") ?? undefined,
      partNumber: part === null ? undefined : Number(part),
      headers: { ...req.headers },
      startedAt: tick(),
      endedAt: undefined,
      status: undefined,
      upstreamStatus: undefined,
      bytesIn: 0,
      outcome: undefined,
      problem: undefined,
    };
    requests.push(record);

    const ended = new Promise<void>((resolve) => {
      res.once("close", () => {
        record.endedAt = tick();
        record.status = res.headersSent ? res.statusCode : undefined;
        record.outcome ??= res.writableFinished ? "answered" : "client-aborted";
        resolve();
      });
    });
    open.add(ended);
    void ended.then(() => open.delete(ended));

    const refuse = (
      status: number,
      code: string,
      message: string,
      outcome: "fault" | "rejected",
    ) => {
      record.outcome = outcome;
      record.problem = outcome === "rejected" ? `${code}: ${message}` : undefined;
      const answer = () => {
        res.writeHead(status, { "content-type": "application/xml" });
        res.end(s3ErrorBody(code, message));
      };
      // A client waiting for 100-continue sends no body; any other gets its body read first,
      // so it sees the answer rather than a connection reset in the middle of its upload.
      if (expectsContinue || req.readableEnded) answer();
      else req.resume().once("end", answer);
    };

    const fault = pickFault(record);
    if (fault?.type === "error") {
      refuse(fault.status, fault.code, fault.message ?? "Injected by the test proxy.", "fault");
      return;
    }
    if (options.secretFor) {
      const problem = verifySigV4(
        { method: record.method, url, rawHeaders: req.rawHeaders },
        options.secretFor,
      );
      if (problem) {
        refuse(problem.status, problem.code, problem.message, "rejected");
        return;
      }
    }
    if (expectsContinue) res.writeContinue();

    const contentHash = req.headers["x-amz-content-sha256"];
    const inspector = new BodyInspector(
      typeof contentHash === "string" && /^[0-9a-f]{64}$/.test(contentHash)
        ? contentHash
        : undefined,
      (total) => {
        record.bytesIn = total;
        if (fault?.type !== "reset" || total < (fault.afterBytes ?? 0)) return false;
        record.outcome = "fault";
        upstream.destroy();
        req.socket.destroy();
        return true;
      },
    );
    if (fault?.type === "reset" && (fault.afterBytes ?? 0) === 0) {
      record.outcome = "fault";
      req.socket.destroy();
      return;
    }
    if (fault?.type === "hang") {
      req.on("data", (chunk: Buffer) => (record.bytesIn += chunk.length));
      return;
    }

    const headers = { ...req.headers };
    // The proxy already answered 100-continue itself; the upstream gets the body directly.
    delete headers.expect;
    const upstream = http.request({
      host: target.hostname,
      port: target.port,
      method: record.method,
      path: url,
      headers,
      agent,
    });
    upstream.on("response", (answer) => {
      record.upstreamStatus = answer.statusCode;
      if (fault?.type === "lose-answer") {
        answer.resume();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { "content-type": "application/xml" });
        res.end(s3ErrorBody("InternalError", "The test proxy lost its upstream."));
      } else {
        res.destroy();
      }
    });
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    inspector.on("error", (err: Error & { code?: string }) => {
      upstream.destroy();
      if (err.code === "XAmzContentSHA256Mismatch" && !res.headersSent) {
        refuse(
          400,
          "XAmzContentSHA256Mismatch",
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          "rejected",
        );
      }
    });
    req.on("error", () => upstream.destroy());
    req.pipe(inspector).pipe(upstream);
  };

  const server = http.createServer((req, res) => handle(req, res, false));
  server.on("checkContinue", (req, res) => handle(req, res, true));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    requestsFor: (operation, key) =>
      requests.filter((r) => r.operation === operation && (key === undefined || r.key === key)),
    async idle() {
      while (open.size > 0) await Promise.allSettled([...open]);
    },
    injectFault(rule) {
      const entry = { rule, hits: 0, removed: false };
      rules.push(entry);
      return {
        get hits() {
          return entry.hits;
        },
        remove() {
          entry.removed = true;
        },
      };
    },
    clear() {
      requests.length = 0;
      rules.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
