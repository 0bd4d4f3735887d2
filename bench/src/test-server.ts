import {
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  startGcsTestServer,
  startS3rver,
  S3RVER_CREDENTIALS,
} from "@mediagate/test-servers";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { BackendEndpoint } from "./backend.ts";

/** The bucket (or container) every system under test writes to. */
export const BENCH_BUCKET = "mediagate-bench";

export interface TestServer {
  endpoint: BackendEndpoint;
  stop(): Promise<void>;
}

/**
 * Starts the project's test server for `provider` on a free loopback port. S3 is s3rver on
 * its own, without the tests' signature-checking recording proxy: a proxy hop would be
 * measured too. Azure is Azurite keeping blobs on disk (see `startAzuriteOnDisk`).
 */
export async function startTestServer(provider: string): Promise<TestServer> {
  switch (provider) {
    case "s3": {
      const s3rver = await startS3rver({ buckets: [BENCH_BUCKET] });
      return {
        endpoint: {
          provider: "s3",
          endpoint: s3rver.endpoint,
          region: "us-east-1",
          bucket: BENCH_BUCKET,
          ...S3RVER_CREDENTIALS,
        },
        stop: () => s3rver.stop(),
      };
    }
    case "azure":
      return startAzuriteOnDisk();
    case "gcs": {
      const gcs = await startGcsTestServer({ buckets: [BENCH_BUCKET] });
      return {
        endpoint: {
          provider: "gcs",
          apiEndpoint: gcs.url,
          projectId: "bench",
          bucket: BENCH_BUCKET,
        },
        stop: () => gcs.stop(),
      };
    }
    default:
      throw new Error(`no test server for "${provider}"`);
  }
}

const LISTENING = /successfully listens on https?:\/\/[^:]+:(\d+)/;

/**
 * Azurite with its blobs in a temporary folder. The tests' `startAzurite` keeps them in
 * memory, which would put 8 GiB into the emulator during a cell of sixteen 512 MiB uploads;
 * on disk, like s3rver and the GCS test server, memory stays flat. Same flags otherwise.
 */
async function startAzuriteOnDisk(): Promise<TestServer> {
  const location = await mkdtemp(join(tmpdir(), "mediagate-bench-azurite-"));
  const main = join(
    dirname(createRequire(import.meta.url).resolve("azurite/package.json")),
    "dist/src/blob/main.js",
  );
  const child = spawn(
    process.execPath,
    [
      main,
      "--location",
      location,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      "0",
      "--skipApiVersionCheck",
      "--loose",
      "--disableTelemetry",
      "--silent",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code: number | null) =>
      reject(new Error(`Azurite exited (${code}):\n${output}`)),
    );
  });
  child.stdout.resume();
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
  return {
    endpoint: {
      provider: "azure",
      connectionString:
        `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
        `AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
      container: BENCH_BUCKET,
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(location, { recursive: true, force: true });
    },
  };
}
