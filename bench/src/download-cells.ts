import { measureCell } from "./cell.ts";
import type { Child } from "./child-process.ts";
import { mesiboForm, type RunningGateway } from "./gateway.ts";
import { downloadOnce, keepAliveAgent, uploadOnce, type Range } from "./http-client.ts";
import { runRound, type RoundPlan, type RoundResult } from "./load-loop.ts";
import { cellRounds, type BenchPlan } from "./plan.ts";
import type { BackendName } from "./backend.ts";
import type { CellId, CellResult, Operation } from "./results.ts";
import type { PipeServer } from "./references.ts";
import { request } from "./rpc.ts";
import {
  grid,
  warmupPlan,
  type Purge,
  type RecordCell,
  type SuiteOptions,
} from "./suite-context.ts";

/** The middle half of an object: a seek into the file, as a video player does. */
export function rangeFor(size: number): Range {
  const start = Math.floor(size / 4);
  return { start, end: start + Math.max(1, Math.floor(size / 2)) - 1 };
}

export const DOWNLOAD_OPERATIONS: Operation[] = ["download", "range"];

export async function downloadCell(
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

/**
 * Downloads of objects the gateway stored, full and ranged, each next to the read-stream
 * pipe serving the same bytes (when `pipe` is given: measured here, cell by cell, so the
 * pair shares the machine's state), then (on backends with a storage server) the same reads straight from
 * that server through its SDK: the ceiling the server itself sets, which the pipe knows
 * nothing about.
 */
export async function runDownloads(
  options: SuiteOptions,
  backend: BackendName,
  gateway: RunningGateway,
  runner: Child<object>,
  pipe: PipeServer | undefined,
  record: RecordCell,
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
      if (pipe) {
        record(await downloadCell({ ...id, system: "pipe" }, plan, pipe.pid, pipe.url(size)));
      }
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
