import { mesiboForm } from "./gateway.ts";
import { measureCell } from "./cell.ts";
import type { Child } from "./child-process.ts";
import { keepAliveAgent, uploadOnce } from "./http-client.ts";
import { runRound, type RoundPlan, type RoundResult } from "./load-loop.ts";
import { cellRounds, type BenchPlan } from "./plan.ts";
import type { CellId, CellResult } from "./results.ts";
import { request } from "./rpc.ts";
import { warmupPlan, warmupSize, type Purge } from "./suite-context.ts";

/**
 * Measures HTTP uploads of `size`-byte files into `url`, then empties the store and checks
 * that every byte the server acknowledged is really there (a benchmark of a server that
 * silently dropped files would otherwise look fast).
 */
export async function uploadCell(
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

export async function directCell(
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
