/**
 * The soak run: a gateway on a local folder with the SQLite ledger, fed steady mixed uploads
 * (a chat's mix of sizes) for N minutes, its RSS and open descriptors sampled from /proc. A
 * leak shows as a climb that does not level off. Not part of CI:
 *
 *   npm run soak -- --minutes 5 --concurrency 16
 *
 * Writes bench/SOAK.md with the run's figures.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { shippedGatewayCommand } from "./gateway.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    concurrency: { type: "string", default: "16" },
    every: { type: "string", default: "10" },
  },
});
const MINUTES = Number(values.minutes);
const CONCURRENCY = Number(values.concurrency);
const SAMPLE_SECONDS = Number(values.every);
const TOKEN = "soak-token-0123456789abcdef";
const root = new URL("../..", import.meta.url).pathname;

/** A chat's mix: 70 % 16–64 KiB, 25 % 200 KiB–2 MiB, 5 % 8–32 MiB. */
function nextSize(): number {
  const roll = Math.random();
  const between = (lo: number, hi: number) => Math.floor(lo + Math.random() * (hi - lo));
  if (roll < 0.7) return between(16 << 10, 64 << 10);
  if (roll < 0.95) return between(200 << 10, 2 << 20);
  return between(8 << 20, 32 << 20);
}

const pattern = randomBytes(1 << 20);
const body = (size: number) =>
  new Blob(Array.from({ length: Math.ceil(size / pattern.length) }, () => pattern)).slice(0, size);

async function sample(pid: number) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { rss, fds };
}

const dir = await mkdtemp(join(tmpdir(), "mediagate-soak-"));
// `npm start`'s flags and malloc settings, on the source (the soak runs no build).
const shipped = await shippedGatewayCommand();
const child = spawn(
  process.execPath,
  [...shipped.nodeArgs, "--conditions=source", join(root, "apps/gateway/src/main.ts")],
  {
    env: {
      ...shipped.env,
      PATH: process.env.PATH ?? "",
      PORT: "0",
      HOST: "127.0.0.1",
      AUTH_TOKENS: TOKEN,
      FS_ROOT: join(dir, "store"),
      LEDGER_PATH: join(dir, "ledger.db"),
      SPOOL_DIR: join(dir, "spool"),
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const url = await new Promise<string>((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
    if (match?.[1]) resolve(match[1]);
  });
  child.once("exit", (code) => reject(new Error(`gateway exited (${code})`)));
});
// The rest of the log is read and dropped, so the gateway never waits on a full pipe.
child.stdout.resume();

const pid = child.pid ?? 0;
const stopAt = Date.now() + MINUTES * 60_000;
let uploads = 0;
let failures = 0;
let bytes = 0;
const samples: { minute: number; rss: number; fds: number; uploads: number }[] = [];
const started = Date.now();

const worker = async () => {
  while (Date.now() < stopAt) {
    const size = nextSize();
    const form = new FormData();
    for (const [name, value] of [
      ["op", "upload"],
      ["auth", TOKEN],
      ["uid", "1"],
      ["mid", String(uploads)],
    ]) {
      form.append(name as string, value as string);
    }
    form.append("file", body(size), "soak.bin");
    try {
      const res = await fetch(`${url}/upload`, { method: "POST", body: form });
      await res.arrayBuffer();
      if (res.ok) {
        uploads++;
        bytes += size;
      } else failures++;
    } catch {
      failures++;
    }
  }
};
const sampler = setInterval(() => {
  void sample(pid).then((s) =>
    samples.push({ minute: (Date.now() - started) / 60_000, ...s, uploads }),
  );
}, SAMPLE_SECONDS * 1000);
samples.push({ minute: 0, ...(await sample(pid)), uploads: 0 });
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
clearInterval(sampler);
samples.push({ minute: (Date.now() - started) / 60_000, ...(await sample(pid)), uploads });
child.kill("SIGTERM");
await new Promise((resolve) => child.once("exit", resolve));
await rm(dir, { recursive: true, force: true });

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
const rows = samples.map(
  (s) => `| ${s.minute.toFixed(1)} | ${mib(s.rss)} | ${s.fds} | ${s.uploads} |`,
);
const report = [
  "# Soak run",
  "",
  `${new Date().toISOString()}: ${MINUTES} min, ${CONCURRENCY} clients, chat mix (70 % 16–64 KiB,`,
  `25 % 200 KiB–2 MiB, 5 % 8–32 MiB), fs backend with the SQLite ledger. ${uploads} uploads`,
  `(${mib(bytes)} MiB), ${failures} failed. Produced by \`npm run soak\`.`,
  "",
  "| minute | RSS (MiB) | open descriptors | uploads so far |",
  "| ---: | ---: | ---: | ---: |",
  ...rows,
  "",
].join("\n");
await writeFile(join(root, "bench/SOAK.md"), report);
process.stdout.write(report);
process.exit(failures > 0 ? 1 : 0);
