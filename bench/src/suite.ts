import { mkdir, writeFile } from "node:fs/promises";
import type { BackendEndpoint, BackendName } from "./backend.ts";
import { skippedCell } from "./cell.ts";
import { runDownloads } from "./download-cells.ts";
import { gatewayExists, startGateway, type RunningGateway } from "./gateway.ts";
import { memoryProbe } from "./memory-probe.ts";
import { preparePipeFiles, runReferences, type PipeFiles } from "./references.ts";
import type { CellId, CellResult, MemoryProbe } from "./results.ts";
import { request } from "./rpc.ts";
import { startStorage } from "./storage.ts";
import {
  grid,
  logFile,
  startScript,
  type Purge,
  type RecordCell,
  type SuiteOptions,
} from "./suite-context.ts";
import { formatSize } from "./units.ts";
import { directCell, uploadCell } from "./upload-cells.ts";

export type { SuiteOptions } from "./suite-context.ts";

/**
 * Runs every comparison the plan asks for: the backend-independent references first, then
 * each backend's gateway, direct SDK and naive baseline side by side, cell by cell.
 */
export async function runSuite(
  options: SuiteOptions,
): Promise<{ cells: CellResult[]; probes: MemoryProbe[]; problems: string[] }> {
  const cells: CellResult[] = [];
  const probes: MemoryProbe[] = [];
  const record = (cell: CellResult) => {
    cells.push(cell);
    options.onCell(cell);
  };
  const recordProbe = (probe: MemoryProbe) => {
    probes.push(probe);
    options.onProbe(probe);
  };
  const problems: string[] = [];
  await runReferences(options, record);
  const pipeFiles = options.plan.downloads ? await preparePipeFiles(options) : undefined;
  try {
    for (const backend of options.plan.backends) {
      try {
        await runBackend(options, backend, record, recordProbe, pipeFiles);
      } catch (err) {
        // One backend that cannot start must not cost the figures of the others.
        const message = `${backend}: ${(err as Error).message}`;
        problems.push(message);
        options.log(`  FAILED ${message}`);
      }
    }
  } finally {
    await pipeFiles?.remove();
  }
  return { cells, probes, problems };
}

async function runBackend(
  options: SuiteOptions,
  backend: BackendName,
  record: RecordCell,
  recordProbe: (probe: MemoryProbe) => void,
  pipeFiles: PipeFiles | undefined,
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
    // The bare busboy server fsyncs nothing: its like-for-like gateway on fs is one
    // configured the same way. The default (durable) gateway meets the fsynced busboy.
    const unsynced =
      backend === "fs"
        ? await startGatewayIfPresent(options, backend, storage.endpoint, {
            name: "fs-unsynced",
            env: { FS_DURABLE: "false" },
          })
        : undefined;
    if (unsynced) stoppers.push(() => unsynced.child.stop());

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
      if (unsynced) {
        record(
          await uploadCell(
            id("unsyncedGateway"),
            plan,
            unsynced.child.pid,
            unsynced.uploadUrl,
            purge,
          ),
        );
      }
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

    if (pipeFiles && gateway) {
      const measurePipe = plan.pipeEveryBackend || !pipeFiles.measured;
      const pipe = measurePipe ? await pipeFiles.start(`${backend}-pipe`) : undefined;
      if (pipe) stoppers.push(() => pipe.stop());
      await runDownloads(options, backend, gateway, runner, pipe, record, purge);
    }
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
  }
}

async function startGatewayIfPresent(
  options: SuiteOptions,
  backend: BackendName,
  endpoint: BackendEndpoint,
  variant: { name: string; env: Record<string, string> } = { name: backend, env: {} },
): Promise<RunningGateway | undefined> {
  if (!(await gatewayExists())) {
    options.log(
      "  the compiled gateway (apps/gateway/dist) is missing (npm run bench builds it): its cells are skipped",
    );
    return undefined;
  }
  if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
  return startGateway(endpoint, {
    cwd: options.workDir,
    env: { ...variant.env, ...options.gatewayEnv },
    logFile: logFile(options, `${variant.name}-gateway`),
    nodeArgs: options.profileDir
      ? [
          "--cpu-prof",
          `--cpu-prof-dir=${options.profileDir}`,
          `--cpu-prof-name=gateway-${variant.name}-\${pid}.cpuprofile`,
        ]
      : [],
  });
}

/** Writes the raw results next to the logs, for later comparison between runs. */
export async function saveRaw(path: string, data: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(data, null, 2));
}
