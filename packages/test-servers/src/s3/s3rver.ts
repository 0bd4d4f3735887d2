import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { S3rver } from "./s3rver-internals.ts";
import { installS3Fidelity } from "./s3rver-fidelity.ts";

/** s3rver accepts any SigV4 signature but only this access key (its built-in account). */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface S3rverServer {
  /** `http://127.0.0.1:<port>`; path-style addressing only. */
  readonly endpoint: string;
  readonly port: number;
  /** The folder s3rver keeps buckets in (a fresh temporary folder, removed on stop). */
  readonly directory: string;
  /** Every object key in a bucket, read from s3rver's folder (in S3's order). */
  objects(bucket: string): Promise<string[]>;
  /** Multipart uploads that were started and neither completed nor aborted. */
  openUploads(bucket: string): Promise<S3OpenUpload[]>;
  /**
   * Moves an open upload's initiation `ageMs` into the past (as ListMultipartUploads
   * reports it), standing in for the time a crashed process's upload has been lying there.
   */
  backdateUpload(bucket: string, uploadId: string, ageMs: number): Promise<void>;
  /** Requests s3rver has received so far (to know one has arrived, without sleeping). */
  received(): number;
  stop(): Promise<void>;
}

export interface S3OpenUpload {
  uploadId: string;
  /** The key it was started for; undefined if s3rver never wrote it (debris). */
  key: string | undefined;
}

export interface S3rverStartOptions {
  /** Buckets to create before the server answers (valid S3 names: 3+ lowercase characters). */
  buckets?: string[];
}

/**
 * Starts s3rver in-process on a free loopback port, in a fresh temporary folder, with the
 * fidelity fixes of `s3rver-fidelity.ts` installed in front of its router.
 */
export async function startS3rver(options: S3rverStartOptions = {}): Promise<S3rverServer> {
  const directory = await mkdtemp(path.join(tmpdir(), "mediagate-s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
    vhostBuckets: false,
  });
  const fidelity = installS3Fidelity(server.store, directory);
  // Koa composes its middleware on listen, so the fixes go in before the router (last).
  server.middleware.splice(server.middleware.length - 1, 0, ...fidelity.middleware);
  let address;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  let received = 0;
  server.httpServer?.on("request", () => received++);

  return {
    endpoint,
    port: address.port,
    directory,
    async objects(bucket) {
      try {
        return await fidelity.keysIn(bucket);
      } catch (err) {
        // No bucket yet: no objects. Anything else is a real failure, not an empty store.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw err;
      }
    },
    async openUploads(bucket) {
      const dir = path.join(directory, bucket, "._S3rver_uploads");
      let ids: string[];
      try {
        ids = await readdir(dir);
      } catch {
        return [];
      }
      return Promise.all(
        ids.map(async (uploadId) => ({
          uploadId,
          key: await readFile(path.join(dir, uploadId, "key"), "utf8").catch(() => undefined),
        })),
      );
    },
    received: () => received,
    backdateUpload: (bucket, uploadId, ageMs) => fidelity.uploads.backdate(bucket, uploadId, ageMs),
    async stop() {
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
