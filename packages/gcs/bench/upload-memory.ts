/**
 * Peak memory of one large streaming upload through GcsAdapter into the project's GCS test
 * server:
 *
 *   node --conditions=source bench/upload-memory.ts [--size 1g] [--chunk 8m] [--single 8m]
 *
 * The test server runs in its own process, so the figures are this process's alone: the
 * resident set before the upload (Node, the SDK, the adapter loaded), its peak during the
 * upload (sampled every 10 ms, and the kernel's high-water mark), and the throughput. The
 * server's own high-water mark is printed too (it streams to disk). Not a test: numbers vary
 * with the machine, so they are printed, never asserted.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { GCS_TEST_SERVER_CLI } from "@mediagate/test-servers";
import { GcsAdapter } from "../src/index.ts";

const MiB = 1024 * 1024;

function bytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(text.trim());
  if (!match) throw new Error(`Not a size: ${text} (try 512m or 1g)`);
  const unit = { "": 1, k: 1024, m: MiB, g: 1024 * MiB }[(match[2] ?? "").toLowerCase()] ?? 1;
  return Math.round(Number(match[1]) * unit);
}

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "1g" },
    chunk: { type: "string", default: "8m" },
    single: { type: "string", default: "8m" },
  },
});
const size = bytes(values.size);
const chunkSize = bytes(values.chunk);
const singleRequestMaxBytes = bytes(values.single);

/** `size` bytes of one pseudo-random MiB repeated, made as they are read: the source holds 1 MiB. */
function generatedBody(total: number): Readable {
  const pattern = Buffer.alloc(MiB);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  let sent = 0;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (sent >= total) return void this.push(null);
      const offset = sent % MiB;
      const n = Math.min(64 * 1024, total - sent, MiB - offset);
      this.push(pattern.subarray(offset, offset + n));
      sent += n;
    },
  });
}

const rssMiB = () => process.memoryUsage.rss() / MiB;
/** A process's resident-set high-water mark, from Linux's /proc (undefined elsewhere). */
function vmHwmMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

// The server in a child process; its first stdout line says it is listening.
const child = spawn(
  process.execPath,
  ["--conditions=source", GCS_TEST_SERVER_CLI, "--bucket", "bench"],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const exited = once(child, "exit");
try {
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  const { url } = JSON.parse(line) as { url: string };
  const adapter = new GcsAdapter({
    bucket: "bench",
    projectId: "bench",
    apiEndpoint: url,
    chunkSize,
    singleRequestMaxBytes,
  });
  // Warm the SDK's code paths (both upload kinds) so the baseline includes them.
  await adapter.write("warm-up-small", Readable.from([Buffer.alloc(16)]));
  await adapter.write("warm-up-large", generatedBody(singleRequestMaxBytes + 1));
  globalThis.gc?.();
  const baseline = rssMiB();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 10);

  const started = performance.now();
  const info = await adapter.write("large", generatedBody(size), { contentType: "video/mp4" });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB());
  const highWaterMark = process.resourceUsage().maxRSS / 1024;
  const serverHighWaterMark = vmHwmMiB(child.pid);

  if (info.size !== size || (await adapter.stat("large")).size !== size) {
    throw new Error(`Stored ${info.size} bytes, expected ${size}.`);
  }
  console.log(
    `upload          ${(size / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s (${(size / MiB / seconds).toFixed(0)} MiB/s), resumable`,
  );
  console.log(
    `limits          single request ≤ ${(singleRequestMaxBytes / MiB).toFixed(2)} MiB, chunks of ${(chunkSize / MiB).toFixed(2)} MiB`,
  );
  console.log(`RSS before      ${baseline.toFixed(0)} MiB`);
  console.log(
    `RSS peak        ${peak.toFixed(0)} MiB (sampled), ${highWaterMark.toFixed(0)} MiB (kernel high-water mark)`,
  );
  console.log(
    `RSS growth      ${(peak - baseline).toFixed(0)} MiB for a ${(size / MiB).toFixed(0)} MiB body`,
  );
  if (serverHighWaterMark !== undefined)
    console.log(`server RSS peak ${serverHighWaterMark.toFixed(0)} MiB (test server process)`);
  await adapter.delete("large");
} finally {
  child.kill("SIGTERM");
  await exited;
}
