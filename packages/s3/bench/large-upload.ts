/**
 * One large upload through the gateway into s3rver, with the gateway's peak memory measured
 * from outside the process. Not a test: it prints figures (see the package README).
 *
 *   npm run bench -w @mediagate/s3                        # 1 GiB, default part/queue size
 *   npm run bench -w @mediagate/s3 -- --size 2gb --part-size 16mb --queue-size 2
 *
 * The gateway runs as a child process (its TypeScript sources, Node's --conditions=source);
 * s3rver runs in this process, so its memory is not counted. The body is generated on the
 * fly (random bytes, a MiB at a time) and its SHA-256 compared with a download of the stored
 * object.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { S3RVER_CREDENTIALS, startS3rver } from "@mediagate/test-servers";
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE } from "../src/index.ts";

const MiB = 1024 * 1024;
const GATEWAY_MAIN = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../../apps/gateway/src/main.ts",
);
const TOKEN = "bench-upload-token-0123456789abcdef";
const BUCKET = "mediagate-bench";

function size(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(b|kb|mb|gb)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text}`);
  const unit = { b: 1, kb: 1024, mb: MiB, gb: 1024 * MiB }[(match[2] ?? "b").toLowerCase() as "b"];
  return Math.round(Number(match[1]) * unit);
}

const { values: args } = parseArgs({
  options: {
    size: { type: "string", default: "1gb" },
    "part-size": { type: "string" },
    "queue-size": { type: "string" },
  },
});
const total = size(args.size);
/** The adapter's defaults unless overridden (DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE). */
const partSize = args["part-size"] ? size(args["part-size"]) : DEFAULT_PART_SIZE;
const queueSize = args["queue-size"] ? Number(args["queue-size"]) : DEFAULT_QUEUE_SIZE;

/** VmHWM (peak resident set) and VmRSS of a process, in bytes, from /proc. */
async function memoryOf(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kb("VmHWM"), now: kb("VmRSS") };
}

/** A loopback port that was free a moment ago (bound, then released for the gateway). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

async function waitUntilReady(url: string, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error("the gateway exited during start-up");
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The multipart form, fields first, the file generated chunk by chunk as it is sent. */
function form(boundary: string, bytes: number, hash: ReturnType<typeof createHash>): Readable {
  async function* generate() {
    for (const [name, value] of Object.entries({
      op: "upload",
      auth: TOKEN,
      uid: "1",
      mid: "1",
      source: "message",
    })) {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      );
    }
    yield Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="large.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    );
    const chunk = MiB;
    for (let offset = 0; offset < bytes; offset += chunk) {
      const piece = randomBytes(Math.min(chunk, bytes - offset));
      hash.update(piece);
      yield piece;
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  return Readable.from(generate(), { objectMode: false });
}

function post(
  url: string,
  boundary: string,
  body: Readable,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/upload`, {
      method: "POST",
      headers: {
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
        "Transfer-Encoding": "chunked",
      },
    });
    req.on("error", reject);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    body.pipe(req);
  });
}

async function downloadDigest(url: string): Promise<{ sha256: string; bytes: number }> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`download answered ${response.status}`);
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

const s3 = await startS3rver({ buckets: [BUCKET] });
const spool = await mkdtemp(join(tmpdir(), "mediagate-bench-spool-"));
const port = await freePort();
const gatewayUrl = `http://127.0.0.1:${port}`;
// With the V8 flags and malloc settings `npm start` gives the gateway (its README, "Memory
// and GC"); the settings are the start script's leading NAME=value words.
const startScript = (
  JSON.parse(await readFile(join(GATEWAY_MAIN, "../../package.json"), "utf8")) as {
    scripts: { start: string };
  }
).scripts.start;
const startWords = startScript.split(/\s+/);
const shippedEnv = Object.fromEntries(
  startWords
    .filter((word) => /^[A-Z_][A-Z0-9_]*=/.test(word))
    .map((word) => [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]),
);
const shippedFlags = startWords.filter((word) => word.startsWith("--"));
const child = spawn(process.execPath, [...shippedFlags, "--conditions=source", GATEWAY_MAIN], {
  env: {
    ...shippedEnv,
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "warn",
    AUTH_TOKENS: TOKEN,
    MAX_FILE_SIZE: String(total + MiB),
    SPOOL_DIR: spool,
    PUBLIC_BASE_URL: gatewayUrl,
    STORAGE_PROVIDER: "s3",
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: "us-east-1",
    S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    ...(args["part-size"] && { S3_PART_SIZE: args["part-size"] }),
    ...(args["queue-size"] && { S3_QUEUE_SIZE: args["queue-size"] }),
  },
  stdio: ["ignore", "inherit", "inherit"],
  detached: true,
});
const exited = new Promise((resolve) => child.once("exit", resolve));

try {
  if (child.pid === undefined) throw new Error("the gateway did not start");
  const pid = child.pid;
  await waitUntilReady(gatewayUrl, exited);

  // Warm-up: a small upload (one PutObject) loads the SDK and compiles the upload path; the
  // growth measured after it is what a large upload adds: part buffers, the multipart code
  // path, and garbage not yet collected.
  const boundary = () => `----mediagate-bench-${randomBytes(12).toString("hex")}`;
  const warmBoundary = boundary();
  const warm = await post(gatewayUrl, warmBoundary, form(warmBoundary, MiB, createHash("sha256")));
  if (warm.status !== 200) throw new Error(`warm-up upload answered ${warm.status}: ${warm.text}`);
  const baseline = await memoryOf(pid);

  const hash = createHash("sha256");
  const started = performance.now();
  const mainBoundary = boundary();
  const answer = await post(gatewayUrl, mainBoundary, form(mainBoundary, total, hash));
  const seconds = (performance.now() - started) / 1000;
  const after = await memoryOf(pid);
  if (answer.status !== 200) throw new Error(`upload answered ${answer.status}: ${answer.text}`);
  const { url } = JSON.parse(answer.text) as { url: string };
  const stored = await downloadDigest(url);
  const sent = hash.digest("hex");

  console.log(
    [
      `mediagate s3 large upload (gateway → s3rver on loopback, Node ${process.version})`,
      `  file:                       ${mb(total)}, part size ${mb(partSize)}, queue size ${queueSize}`,
      `  upload time:                ${seconds.toFixed(1)} s (${(total / MiB / seconds).toFixed(0)} MiB/s)`,
      `  gateway RSS after warm-up:  ${mb(baseline.now)} (peak so far ${mb(baseline.peak)})`,
      `  gateway peak RSS (VmHWM):   ${mb(after.peak)}`,
      `  growth over warm-up peak:   ${mb(after.peak - baseline.peak)}`,
      `  part buffers ×(queue+1):    ${mb(partSize * (queueSize + 1))}`,
      `  stored object:              ${mb(stored.bytes)}, sha256 ${stored.sha256 === sent ? "matches" : "DIFFERS"}`,
    ].join("\n"),
  );
  if (stored.sha256 !== sent || stored.bytes !== total) process.exitCode = 1;
} finally {
  if (child.exitCode === null && child.pid !== undefined) {
    process.kill(-child.pid, "SIGTERM");
    await exited;
  }
  await s3.stop();
  await rm(spool, { recursive: true, force: true });
}
