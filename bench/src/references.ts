import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { DOWNLOAD_OPERATIONS, downloadCell } from "./download-cells.ts";
import { payloadStream } from "./payload.ts";
import type { CellId } from "./results.ts";
import { fsSdk } from "./sdk/fs.ts";
import { grid, startScript, type RecordCell, type SuiteOptions } from "./suite-context.ts";
import { uploadCell } from "./upload-cells.ts";

/** The backend-independent references: raw drain, bare busboy (plain and fsynced), read-stream pipe. */
export async function runReferences(options: SuiteOptions, record: RecordCell) {
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
