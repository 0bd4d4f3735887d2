/**
 * `npm run bench:migrate`: the throughput of `mediagate migrate`, moving N objects of one size
 * from a local folder (with the SQLite ledger recording them) to s3rver, as an operator runs
 * it (the CLI from the workspace's sources, in its own process). A standalone script rather
 * than a group of the main benchmark: there is nothing to alternate it with, and each cell
 * needs its own populated store.
 *
 * Per cell it prints objects/s and MiB/s as the command measures them (the copy phase,
 * start-up and planning excluded), the whole command's wall time, the command's CPU per
 * object (less the CPU of a second run that finds nothing to copy: start-up and the plan),
 * and s3rver's CPU (it runs inside this process, which does nothing else meanwhile).
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FsAdapter } from "@mediagate/fs";
import { openLedger } from "@mediagate/ledger";
import { S3RVER_CREDENTIALS, startS3rver } from "@mediagate/test-servers";
import { shippedGatewayCommand } from "./gateway.ts";
import { reapedChildrenCpuSeconds } from "./proc-cpu.ts";
import { parseSize, sizeToken } from "./units.ts";

const MAIN = fileURLToPath(new URL("../../apps/gateway/src/main.ts", import.meta.url));
const DEFAULT_CELLS = "16k:1000,1m:128,32m:8";

const USAGE = `Usage: npm run bench:migrate -- [--cells 16k:1000,1m:128,32m:8] [--concurrency 4]

Each cell is <size>:<objects>: that many objects of that size are stored in a fresh folder
and ledger, then moved to s3rver with \`mediagate migrate\`.`;

interface Cell {
  size: number;
  objects: number;
}

interface CellResult {
  cell: Cell;
  objectsPerSecond: number;
  mibPerSecond: number;
  wallSeconds: number;
  cpuMsPerObject: number;
  s3rverCpuMsPerObject: number;
}

function parseCells(text: string): Cell[] {
  return text.split(",").map((part) => {
    const [size, objects] = part.trim().split(":");
    const count = Number(objects);
    if (!size || !Number.isInteger(count) || count < 1) {
      throw new Error(`"${part}" is not <size>:<objects> (like 16k:1000)`);
    }
    return { size: parseSize(size), objects: count };
  });
}

/** Objects as the gateway stores them (key layout, metadata) and their ledger records. */
async function populate(dir: string, cell: Cell): Promise<void> {
  const store = new FsAdapter({ root: join(dir, "store"), createRoot: true, durable: false });
  const ledger = await openLedger({ kind: "sqlite", path: join(dir, "ledger.db") });
  // One random block, made distinct per object by its first bytes: generating gigabytes of
  // randomness would dominate the set-up.
  const block = randomBytes(cell.size);
  try {
    for (let i = 0; i < cell.objects; i++) {
      const id = randomBytes(20).toString("hex");
      const key = `${id.slice(0, 2)}/2026/01/02/${id}.bin`;
      randomBytes(Math.min(16, cell.size)).copy(block);
      const sha256 = createHash("sha256").update(block).digest("hex");
      const now = new Date();
      await store.write(key, Readable.from([block]), {
        contentType: "application/octet-stream",
        contentLength: cell.size,
        metadata: {
          uid: "1",
          mid: String(i + 1),
          source: "0",
          filename: `${i}.bin`,
          size: String(cell.size),
          sha256,
        },
      });
      await ledger.record(
        {
          key,
          backend: "fs",
          uid: "1",
          mid: String(i + 1),
          source: 0,
          name: `${i}.bin`,
          size: cell.size,
          sha256,
          contentType: "application/octet-stream",
          createdAt: now,
          expiresAt: null,
        },
        { uploadStartedAt: now },
      );
    }
  } finally {
    await ledger.close();
  }
}

/** Runs `mediagate migrate` to completion; its output, wall time and CPU time. */
async function migrateOnce(
  dir: string,
  concurrency: number,
): Promise<{ stdout: string; wallSeconds: number; cpuSeconds: number; ownCpuSeconds: number }> {
  const shipped = await shippedGatewayCommand();
  const cpuBefore = reapedChildrenCpuSeconds();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...shipped.nodeArgs,
        "--conditions=source",
        MAIN,
        "migrate",
        "--to",
        join(dir, "target.env"),
        "--concurrency",
        String(concurrency),
      ],
      {
        cwd: dir,
        env: {
          ...shipped.env,
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          FS_ROOT: join(dir, "store"),
          LEDGER_PATH: join(dir, "ledger.db"),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.once("error", reject);
    child.once("close", (exit) => resolve({ code: exit, stdout: out, stderr: err }));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownBefore);
  if (code !== 0) throw new Error(`mediagate migrate exited ${code}:\n${stdout}${stderr}`);
  return {
    stdout,
    wallSeconds,
    cpuSeconds: reapedChildrenCpuSeconds() - cpuBefore,
    ownCpuSeconds: (own.user + own.system) / 1e6,
  };
}

async function measure(cell: Cell, endpoint: string, concurrency: number): Promise<CellResult> {
  const dir = await mkdtemp(join(tmpdir(), "mediagate-bench-migrate-"));
  const bucket = `migrate-${sizeToken(cell.size)}-${cell.objects}-${Date.now()}`;
  try {
    await populate(dir, cell);
    await writeFile(
      join(dir, "target.env"),
      [
        "STORAGE_PROVIDER=s3",
        `S3_BUCKET=${bucket}`,
        `S3_ENDPOINT=${endpoint}`,
        "S3_REGION=us-east-1",
        "S3_FORCE_PATH_STYLE=true",
        `AWS_ACCESS_KEY_ID=${S3RVER_CREDENTIALS.accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${S3RVER_CREDENTIALS.secretAccessKey}`,
        "STORAGE_CREATE_BUCKET=true",
      ].join("\n"),
    );
    const run = await migrateOnce(dir, concurrency);
    const copied = new RegExp(`: ${cell.objects} copied`).test(run.stdout);
    const rate = /: ([\d.]+) objects\/s, ([\d.]+) MiB\/s/.exec(run.stdout);
    if (!copied || !rate) throw new Error(`unexpected summary:\n${run.stdout}`);
    // Start-up and the plan, without copying anything: subtracted from the CPU per object.
    const idle = await migrateOnce(dir, concurrency);
    return {
      cell,
      objectsPerSecond: Number(rate[1]),
      mibPerSecond: Number(rate[2]),
      wallSeconds: run.wallSeconds,
      cpuMsPerObject: (Math.max(run.cpuSeconds - idle.cpuSeconds, 0) * 1000) / cell.objects,
      s3rverCpuMsPerObject: (run.ownCpuSeconds * 1000) / cell.objects,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cells: { type: "string", default: DEFAULT_CELLS },
      concurrency: { type: "string", default: "4" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const cells = parseCells(values.cells);
  const concurrency = Number(values.concurrency);
  const s3rver = await startS3rver({ buckets: [] });
  const results: CellResult[] = [];
  try {
    for (const cell of cells) {
      const name = `fs→s3 ${sizeToken(cell.size)} × ${cell.objects} (x${concurrency})`;
      process.stderr.write(`${name}: storing ${cell.objects} objects, then migrating…\n`);
      results.push(await measure(cell, s3rver.endpoint, concurrency));
    }
  } finally {
    await s3rver.stop();
  }
  console.log(
    "| cell | objects/s | MiB/s | command wall time | migrate CPU ms/object | s3rver CPU ms/object |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| fs→s3 ${sizeToken(r.cell.size)} × ${r.cell.objects} (x${concurrency}) | ${r.objectsPerSecond.toFixed(1)} | ${r.mibPerSecond.toFixed(1)} | ${r.wallSeconds.toFixed(2)} s | ${r.cpuMsPerObject.toFixed(2)} | ${r.s3rverCpuMsPerObject.toFixed(2)} |`,
    );
  }
}

await main();
