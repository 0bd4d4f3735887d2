import { startS3RecordingProxy, type S3RecordingProxy } from "./recording-proxy.ts";
import { S3RVER_CREDENTIALS, startS3rver, type S3OpenUpload, type S3rverServer } from "./s3rver.ts";

export type {
  S3FaultRule,
  S3InjectedFault,
  S3ProxyFault,
  S3RecordedRequest,
  S3RecordingProxy,
  S3Operation,
} from "./recording-proxy.ts";
export { startS3RecordingProxy } from "./recording-proxy.ts";
export type { S3OpenUpload, S3rverServer, S3rverStartOptions } from "./s3rver.ts";
export { S3RVER_CREDENTIALS, startS3rver } from "./s3rver.ts";
export { verifySigV4, type SigV4Problem } from "./sigv4.ts";

export interface S3TestServer {
  /** Where clients connect: the recording proxy (path-style addressing). */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly buckets: readonly string[];
  /** What clients sent, and fault injection. */
  readonly proxy: S3RecordingProxy;
  readonly s3rver: S3rverServer;
  /** Every object key in a bucket, from s3rver's folder rather than through S3. */
  objects(bucket: string): Promise<string[]>;
  /** Multipart uploads neither completed nor aborted. */
  openUploads(bucket: string): Promise<S3OpenUpload[]>;
  /** Makes an open upload look begun `ageMs` ago (see S3rverServer.backdateUpload). */
  backdateUpload(bucket: string, uploadId: string, ageMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * s3rver behind the recording proxy, which checks every SigV4 signature against s3rver's
 * one account (s3rver itself accepts any). Both on free loopback ports.
 */
export async function startS3TestServer(
  options: { buckets?: string[]; port?: number } = {},
): Promise<S3TestServer> {
  const buckets = options.buckets ?? ["mediagate-test"];
  const s3rver = await startS3rver({ buckets });
  let proxy: S3RecordingProxy;
  try {
    proxy = await startS3RecordingProxy({
      target: s3rver.endpoint,
      port: options.port,
      secretFor: (id) =>
        id === S3RVER_CREDENTIALS.accessKeyId ? S3RVER_CREDENTIALS.secretAccessKey : undefined,
    });
  } catch (err) {
    await s3rver.stop();
    throw err;
  }
  return {
    endpoint: proxy.endpoint,
    region: "us-east-1",
    credentials: S3RVER_CREDENTIALS,
    buckets,
    proxy,
    s3rver,
    objects: (bucket) => s3rver.objects(bucket),
    openUploads: (bucket) => s3rver.openUploads(bucket),
    backdateUpload: (bucket, uploadId, ageMs) => s3rver.backdateUpload(bucket, uploadId, ageMs),
    async stop() {
      await proxy.stop();
      await s3rver.stop();
    },
  };
}
