import type { SecretLookup } from "./sigv4.ts";

/** What the recording proxy records and the faults it injects (see recording-proxy.ts). */

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
  | "PutObjectTagging"
  | "GetObjectTagging"
  | "DeleteObjectTagging"
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
  /** The client has sent its whole request body. */
  bodyComplete: boolean;
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
  | { type: "lose-answer" }
  /**
   * The store receives the whole body but takes `delayMs` to act on it (the proxy holds
   * the body's last bytes that long), and, as S3 does with a request it has received whole,
   * carries it out even if the client hangs up meanwhile.
   */
  | { type: "slow-commit"; delayMs: number }
  /** Hold the request (body unread) until `until` settles, then forward it as usual. */
  | { type: "hold"; until: Promise<unknown> };

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
