import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { payloadStream } from "./payload.ts";
import type { CellId } from "./results.ts";
import { fsSdk } from "./sdk/fs.ts";
import { grid, startScript, type RecordCell, type SuiteOptions } from "./suite-context.ts";
import { uploadCell } from "./upload-cells.ts";

/** The backend-independent upload references: raw drain, bare busboy (plain and fsynced, to disk and through the fs adapter). */
export async function runReferences(options: SuiteOptions, record: RecordCell) {
  const { plan, workDir } = options;
  options.log("references: raw drain, bare busboy → disk and → fs adapter (plain and fsynced)");

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
  // into what durability costs and what the gateway costs; then the same with the fs adapter
  // storing each file, which splits the rest into the adapter's share and the gateway's.
  const servers = [
    { system: "busboy", script: "busboy-disk.ts", durable: false },
    { system: "durableBusboy", script: "busboy-disk.ts", durable: true },
    { system: "adapterBusboy", script: "busboy-adapter.ts", durable: false },
    { system: "durableAdapterBusboy", script: "busboy-adapter.ts", durable: true },
  ] as const;
  for (const { system, script, durable } of servers) {
    const dir = join(workDir, system);
    await mkdir(dir, { recursive: true });
    const store = fsSdk(dir);
    const env = { BENCH_DIR: dir, BENCH_DURABLE: durable ? "1" : "0" };
    const server = await startScript(options, system, script, env);
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
}

/**
 * The download reference's files: one file of each size, written once per run. Its pipe
 * server is measured next to each backend's gateway downloads rather than once at the
 * start, so that both sides of a "÷ pipe" ratio share the machine's state of the moment.
 */
export async function preparePipeFiles(options: SuiteOptions): Promise<PipeFiles> {
  const dir = join(options.workDir, "pipe");
  await mkdir(dir, { recursive: true });
  for (const size of options.plan.sizes) {
    await pipeline(payloadStream(size), createWriteStream(join(dir, `${size}.bin`)));
  }
  const files: PipeFiles = {
    measured: false,
    start: async (name) => {
      files.measured = true;
      const server = await startScript(options, name, "static-pipe.ts", { BENCH_DIR: dir });
      return {
        pid: server.pid,
        url: (size) => `http://127.0.0.1:${server.info.port}/${size}.bin`,
        stop: () => server.stop(),
      };
    },
    remove: async () => {
      await fsSdk(dir).purge();
    },
  };
  return files;
}

export interface PipeFiles {
  /** Whether a pipe server has been started over them in this run. */
  measured: boolean;
  /** Starts a pipe server over the files (its log named `name`). */
  start(name: string): Promise<PipeServer>;
  remove(): Promise<void>;
}

export interface PipeServer {
  pid: number;
  url(size: number): string;
  stop(): Promise<void>;
}
