import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BackendEndpoint, BackendName } from "./backend.ts";
import { measureCell, skippedCell } from "./cell.ts";
import { scriptPath, startChild, type Child } from "./child-process.ts";
import { gatewayExists, mesiboForm, startGateway, type RunningGateway } from "./gateway.ts";
import { downloadOnce, keepAliveAgent, uploadOnce, type Range } from "./http-client.ts";
import { runRound, type RoundPlan, type RoundResult } from "./load-loop.ts";
import { loadAverage1m } from "./machine.ts";
import { payloadStream } from "./payload.ts";
import { cellRounds, type BenchPlan } from "./plan.ts";
import type { CellId, CellResult, MemoryProbe, Operation } from "./results.ts";
import { RssSampler } from "./rss-sampler.ts";
import { request } from "./rpc.ts";
import { fsSdk } from "./sdk/fs.ts";
import { startStorage } from "./storage.ts";
import { formatSize, MiB } from "./units.ts";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";

export interface SuiteOptions {
  plan: BenchPlan;
  /** Scratch space: stored objects, the fs backend's folder, the download reference's files. */
  workDir: string;
  /** Every child's output, one file each. */
  logDir: string;
  /** When set, the gateway runs with --cpu-prof and writes its profiles here. */
  profileDir?: string;
  onCell(cell: CellResult): void;
  onProbe(probe: MemoryProbe): void;
  onLoad(load: number): void;
  log(message: string): void;
}

type Purge = () => Promise<{ objects: number; bytes: number }>;

/** A warm-up round: one small request per slot, untimed. */
const warmupPlan = (concurrency: number): RoundPlan => ({
  concurrency,
  minRequests: concurrency,
  maxRequests: concurrency,
  maxSeconds: 0,
});
const warmupSize = (size: number) => Math.min(size, MiB);

/** The middle half of an object: a seek into the file, as a video player does. */
export function rangeFor(size: number): Range {
  const start = Math.floor(size / 4);
  return { start, end: start + Math.max(1, Math.floor(size / 2)) - 1 };
}

/**
 * Runs every comparison the plan asks for: the backend-independent references first, then
 * each backend's gateway, direct SDK and naive baseline side by side, cell by cell.
 */
export async function runSuite(
  options: SuiteOptions,
): Promise<{ cells: CellResult[]; probes: MemoryProbe[] }> {
  const cells: CellResult[] = [];
  const probes: MemoryProbe[] = [];
  const record = (cell: CellResult) => {
    cells.push(cell);
    options.onCell(cell);
    options.onLoad(loadAverage1m());
  };
  const recordProbe = (probe: MemoryProbe) => {
    probes.push(probe);
    options.onProbe(probe);
  };
  await runReferences(options, record);
  for (const backend of options.plan.backends) {
    await runBackend(options, backend, record, recordProbe);
  }
  return { cells, probes };
}

/**
 * Streams one large file into a gateway that has served nothing yet, reading its resident
 * set from outside: what the memory target asks, undisturbed by garbage other cells leave.
 */
async function memoryProbe(
  backend: BackendName,
  gateway: RunningGateway,
  size: number,
  purge: Purge,
): Promise<MemoryProbe> {
  const sampler = new RssSampler(gateway.child.pid);
  const idleRssBytes = sampler.currentBytes();
  const agent = keepAliveAgent();
  sampler.start();
  const t0 = performance.now();
  try {
    await uploadOnce(agent, gateway.uploadUrl, mesiboForm(0, size), size);
    const seconds = (performance.now() - t0) / 1000;
    const { peakBytes } = sampler.stop();
    const stored = await purge();
    if (stored.bytes < size) {
      return { backend, size, status: "failed", note: `stored ${stored.bytes} of ${size} bytes` };
    }
    return {
      backend,
      size,
      status: "ok",
      idleRssBytes,
      peakRssBytes: peakBytes,
      mibPerSec: size / MiB / seconds,
    };
  } catch (err) {
    sampler.stop();
    return { backend, size, status: "failed", note: (err as Error).message };
  } finally {
    agent.destroy();
  }
}

function logFile(options: SuiteOptions, name: string): string {
  return join(options.logDir, `${name}.log`);
}

async function startScript<Info extends object>(
  options: SuiteOptions,
  name: string,
  script: string,
  env: Record<string, string> = {},
): Promise<Child<Info & { port?: number }>> {
  return startChild<Info & { port?: number }>({
    name,
    script: scriptPath(`./servers/${script}`, import.meta.url),
    env,
    logFile: logFile(options, name),
    readiness: { kind: "ipc" },
    readyTimeoutMs: 60_000,
  });
}

/**
 * Measures HTTP uploads of `size`-byte files into `url`, then empties the store and checks
 * that every byte the server acknowledged is really there (a benchmark of a server that
 * silently dropped files would otherwise look fast).
 */
async function uploadCell(
  id: CellId,
  plan: BenchPlan,
  pid: number,
  url: string,
  purge?: Purge,
): Promise<CellResult> {
  const agent = keepAliveAgent();
  const { rounds, round } = cellRounds(plan, id.size, id.concurrency);
  let index = 0;
  let acknowledged = 0;
  const post = async (size: number) => {
    await uploadOnce(agent, url, mesiboForm(index++, size), size);
    acknowledged += size;
    return size;
  };
  try {
    const cell = await measureCell(id, {
      pid,
      rounds,
      round: () => runRound(round, () => post(id.size)),
      warmup: async () => {
        const result = await runRound(warmupPlan(id.concurrency), () => post(warmupSize(id.size)));
        if (result.errors[0]) throw new Error(result.errors[0]);
      },
    });
    return purge ? await verifyStored(cell, purge, acknowledged) : cell;
  } finally {
    agent.destroy();
  }
}

async function verifyStored(cell: CellResult, purge: Purge, acknowledged: number) {
  const stored = await purge();
  if (cell.status === "ok" && stored.bytes < acknowledged) {
    return {
      ...cell,
      status: "failed" as const,
      note: `acknowledged ${acknowledged} bytes but the store holds ${stored.bytes}`,
    };
  }
  return cell;
}

async function downloadCell(
  id: CellId,
  plan: BenchPlan,
  pid: number,
  url: string,
): Promise<CellResult> {
  const agent = keepAliveAgent();
  const range = id.operation === "range" ? rangeFor(id.size) : undefined;
  const expected = range ? range.end - range.start + 1 : id.size;
  // Throughput counts the bytes actually moved, so ranged cells plan by the range's length.
  const { rounds, round } = cellRounds(plan, expected, id.concurrency);
  const get = () => downloadOnce(agent, url, expected, range);
  try {
    return await measureCell(id, {
      pid,
      rounds,
      round: () => runRound(round, get),
      warmup: async () => {
        const result = await runRound(warmupPlan(id.concurrency), get);
        if (result.errors[0]) throw new Error(result.errors[0]);
      },
    });
  } finally {
    agent.destroy();
  }
}

function* grid(plan: BenchPlan): Generator<{ size: number; concurrency: number }> {
  for (const size of plan.sizes) {
    for (const concurrency of plan.concurrencies) yield { size, concurrency };
  }
}

const DOWNLOAD_OPERATIONS: Operation[] = ["download", "range"];

async function runReferences(options: SuiteOptions, record: (cell: CellResult) => void) {
  const { plan, workDir } = options;
  options.log("references: raw drain, bare busboy → disk (plain and fsynced), read-stream pipe");

  const drain = await startScript(options, "drain", "drain.ts");
  try {
    const url = `http://127.0.0.1:${drain.info.port}/upload`;
    for (const { size, concurrency } of grid(plan)) {
      const id: CellId = { system: "drain", operation: "upload", size, concurrency };
      record(await uploadCell(id, plan, drain.pid, url));
    }
  } finally {
    await drain.stop();
  }

  // Plain, then durable (fsynced like the fs adapter), so fs's gap can be told apart
  // into what durability costs and what the gateway costs.
  for (const system of ["busboy", "durableBusboy"] as const) {
    const dir = join(workDir, system);
    await mkdir(dir, { recursive: true });
    const store = fsSdk(dir);
    const env = { BENCH_DIR: dir, BENCH_DURABLE: system === "durableBusboy" ? "1" : "0" };
    const server = await startScript(options, system, "busboy-disk.ts", env);
    try {
      const url = `http://127.0.0.1:${server.info.port}/upload`;
      for (const { size, concurrency } of grid(plan)) {
        const id: CellId = { system, operation: "upload", size, concurrency };
        record(await uploadCell(id, plan, server.pid, url, () => store.purge()));
      }
    } finally {
      await server.stop();
    }
  }

  if (!plan.downloads) return;
  const pipeDir = join(workDir, "pipe");
  await mkdir(pipeDir, { recursive: true });
  for (const size of plan.sizes) {
    await pipeline(payloadStream(size), createWriteStream(join(pipeDir, `${size}.bin`)));
  }
  const pipe = await startScript(options, "pipe", "static-pipe.ts", { BENCH_DIR: pipeDir });
  try {
    for (const { size, concurrency } of grid(plan)) {
      for (const operation of DOWNLOAD_OPERATIONS) {
        const url = `http://127.0.0.1:${pipe.info.port}/${size}.bin`;
        const id: CellId = { system: "pipe", operation, size, concurrency };
        record(await downloadCell(id, plan, pipe.pid, url));
      }
    }
  } finally {
    await pipe.stop();
    await fsSdk(pipeDir).purge();
  }
}

async function runBackend(
  options: SuiteOptions,
  backend: BackendName,
  record: (cell: CellResult) => void,
  recordProbe: (probe: MemoryProbe) => void,
) {
  const { plan, workDir } = options;
  options.log(
    `backend ${backend}: starting its test server, the gateway, the SDK runner and the naive baseline`,
  );
  const stoppers: (() => Promise<void>)[] = [];
  try {
    const storage = await startStorage(backend, {
      workDir,
      logFile: logFile(options, `${backend}-server`),
    });
    stoppers.push(() => storage.stop());
    const env = { BENCH_BACKEND: JSON.stringify(storage.endpoint) };

    const runner = await startScript(options, `${backend}-sdk-runner`, "sdk-runner.ts", env);
    stoppers.push(() => runner.stop());
    const purge: Purge = () => request(runner.process, { type: "purge" });
    await purge();

    const gateway = await startGatewayIfPresent(options, backend, storage.endpoint);
    if (gateway) {
      stoppers.push(() => gateway.child.stop());
      recordProbe(await memoryProbe(backend, gateway, plan.memoryProbeSize, purge));
    }

    const naive = await startScript(options, `${backend}-naive`, "naive-express.ts", env);
    stoppers.push(() => naive.stop());
    const naiveUrl = `http://127.0.0.1:${naive.info.port}/upload`;

    for (const { size, concurrency } of grid(plan)) {
      const id = (system: CellId["system"]): CellId => ({
        system,
        backend,
        operation: "upload",
        size,
        concurrency,
      });
      record(
        gateway
          ? await uploadCell(id("gateway"), plan, gateway.child.pid, gateway.uploadUrl, purge)
          : skippedCell(id("gateway"), "the gateway is not available"),
      );
      record(await directCell(id("direct"), plan, runner, purge));
      const inMemory = 2 * size * concurrency;
      record(
        inMemory > plan.naiveMemoryBudget
          ? skippedCell(
              id("naive"),
              `would hold about ${formatSize(inMemory)} in memory at once on a shared machine`,
            )
          : await uploadCell(id("naive"), plan, naive.pid, naiveUrl, purge),
      );
    }

    if (plan.downloads && gateway) {
      await runDownloads(options, backend, gateway, runner, record, purge);
    }
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
  }
}

async function startGatewayIfPresent(
  options: SuiteOptions,
  backend: BackendName,
  endpoint: BackendEndpoint,
): Promise<RunningGateway | undefined> {
  if (!(await gatewayExists())) {
    options.log(
      "  the gateway (apps/gateway/src/main.ts) does not exist yet: its cells are skipped",
    );
    return undefined;
  }
  if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
  return startGateway(endpoint, {
    cwd: options.workDir,
    logFile: logFile(options, `${backend}-gateway`),
    nodeArgs: options.profileDir
      ? [
          "--cpu-prof",
          `--cpu-prof-dir=${options.profileDir}`,
          `--cpu-prof-name=gateway-${backend}-\${pid}.cpuprofile`,
        ]
      : [],
  });
}

async function directCell(
  id: CellId,
  plan: BenchPlan,
  runner: Child<object>,
  purge: Purge,
): Promise<CellResult> {
  const { rounds, round } = cellRounds(plan, id.size, id.concurrency);
  let acknowledged = 0;
  const upload = async (size: number, roundPlan: RoundPlan) => {
    const result = await request<RoundResult>(runner.process, {
      type: "upload",
      size,
      plan: roundPlan,
    });
    acknowledged += result.bytes;
    return result;
  };
  const cell = await measureCell(id, {
    pid: runner.pid,
    rounds,
    round: () => upload(id.size, round),
    warmup: async () => {
      const result = await upload(warmupSize(id.size), warmupPlan(id.concurrency));
      if (result.errors[0]) throw new Error(result.errors[0]);
    },
  });
  return verifyStored(cell, purge, acknowledged);
}

/**
 * Downloads of objects the gateway stored, full and ranged, then (on backends with a storage
 * server) the same reads straight from that server through its SDK: the ceiling the
 * server itself sets, which the read-stream pipe knows nothing about.
 */
async function runDownloads(
  options: SuiteOptions,
  backend: BackendName,
  gateway: RunningGateway,
  runner: Child<object>,
  record: (cell: CellResult) => void,
  purge: Purge,
) {
  const { plan } = options;
  const agent = keepAliveAgent();
  const urls = new Map<number, string>();
  const directKey = (size: number) => `direct/download-${size}.bin`;
  try {
    for (const size of plan.sizes) {
      urls.set(size, await uploadOnce(agent, gateway.uploadUrl, mesiboForm(size, size), size));
      if (backend !== "fs") {
        await request(runner.process, { type: "put", key: directKey(size), size });
      }
    }
  } finally {
    agent.destroy();
  }
  for (const { size, concurrency } of grid(plan)) {
    for (const operation of DOWNLOAD_OPERATIONS) {
      const id: CellId = { system: "gateway", backend, operation, size, concurrency };
      record(await downloadCell(id, plan, gateway.child.pid, urls.get(size) ?? ""));
      if (backend === "fs") continue;
      const range = operation === "range" ? rangeFor(size) : undefined;
      const expected = range ? range.end - range.start + 1 : size;
      const { rounds, round } = cellRounds(plan, expected, concurrency);
      const get = (roundPlan: RoundPlan) =>
        request<RoundResult>(runner.process, {
          type: "download",
          key: directKey(size),
          range,
          expected,
          plan: roundPlan,
        });
      record(
        await measureCell(
          { ...id, system: "direct" },
          {
            pid: runner.pid,
            rounds,
            round: () => get(round),
            warmup: async () => {
              const result = await get(warmupPlan(concurrency));
              if (result.errors[0]) throw new Error(result.errors[0]);
            },
          },
        ),
      );
    }
  }
  await purge();
}

/** Writes the raw results next to the logs, for later comparison between runs. */
export async function saveRaw(path: string, data: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(data, null, 2));
}
