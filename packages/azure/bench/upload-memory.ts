/**
 * Peak memory of one large streaming upload through AzureBlobAdapter into Azurite.
 *
 *   node --conditions=source bench/upload-memory.ts [--size 1g] [--buffer 8m] [--concurrency 4]
 *
 * Azurite runs in its own process, so the figures are this process's alone: the resident
 * set before the upload (Node, the SDK, the adapter loaded), its peak during the upload
 * (sampled every 10 ms, and the kernel's own high-water mark), and the throughput. Not a
 * test: numbers vary with the machine, so they are printed, never asserted.
 */
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { startAzurite } from "@mediagate/test-servers";
import { AzureBlobAdapter, DEFAULT_BUFFER_SIZE, DEFAULT_CONCURRENCY } from "../src/index.ts";

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
    buffer: { type: "string", default: String(DEFAULT_BUFFER_SIZE) },
    concurrency: { type: "string", default: String(DEFAULT_CONCURRENCY) },
  },
});
const size = bytes(values.size);
const bufferSize = bytes(values.buffer);
const concurrency = Number(values.concurrency);

/** `size` bytes of one random MiB repeated, made as they are read: the source holds 1 MiB. */
function generatedBody(total: number): Readable {
  const pattern = Buffer.alloc(MiB);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  let sent = 0;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(64 * 1024, total - sent);
      const offset = sent % MiB;
      this.push(pattern.subarray(offset, Math.min(MiB, offset + n)));
      sent += Math.min(n, MiB - offset);
    },
  });
}

const rssMiB = () => process.memoryUsage.rss() / MiB;

const azurite = await startAzurite();
try {
  const adapter = new AzureBlobAdapter({
    connectionString: azurite.connectionString,
    container: "bench",
    bufferSize,
    concurrency,
  });
  await adapter.createContainerIfMissing();
  // Warm the SDK's code paths so the baseline includes them.
  await adapter.write("warm-up", Readable.from([Buffer.alloc(16)]));
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

  if (info.size !== size || (await adapter.stat("large")).size !== size) {
    throw new Error(`Stored ${info.size} bytes, expected ${size}.`);
  }
  console.log(
    `upload          ${(size / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s (${(size / MiB / seconds).toFixed(0)} MiB/s)`,
  );
  console.log(
    `blocks          ${(bufferSize / MiB).toFixed(2)} MiB × ${concurrency} in flight (bound ≈ ${(((concurrency + 1) * bufferSize) / MiB).toFixed(0)} MiB of block buffers)`,
  );
  console.log(`RSS before      ${baseline.toFixed(0)} MiB`);
  console.log(
    `RSS peak        ${peak.toFixed(0)} MiB (sampled), ${highWaterMark.toFixed(0)} MiB (kernel high-water mark)`,
  );
  console.log(
    `RSS growth      ${(peak - baseline).toFixed(0)} MiB for a ${(size / MiB).toFixed(0)} MiB body`,
  );
  await adapter.delete("large");
} finally {
  await azurite.stop();
}
