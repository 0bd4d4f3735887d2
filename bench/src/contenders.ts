/**
 * How each system is driven in a group: HTTP uploads from the bench's Node client or from
 * wrk, uploads and downloads through the SDK runner (the direct references), and GETs.
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import type { Contender } from "./group.ts";
import { mesiboForm } from "./gateway.ts";
import { downloadOnce, keepAliveAgent, uploadOnce, type Range } from "./http-client.ts";
import { runRound, type RoundPlan, type RoundResult } from "./load-loop.ts";
import { mixRoundPlan, roundPlan, warmupPlan, warmupSize } from "./plan.ts";
import type { CellId } from "./results.ts";
import { request } from "./rpc.ts";
import type { SuiteOptions } from "./suite-context.ts";
import type { RunningSystem } from "./systems.ts";
import { KiB, MiB } from "./units.ts";
import { writeWrkBody, wrkRound, type WrkBody } from "./wrk.ts";

/** wrk holds its body in memory, once per thread: larger files always stream from Node. */
const WRK_MAX_BODY = 8 * MiB;

/** Whether fixed-size uploads of `size` bytes are sent by wrk. */
export function sentByWrk(options: SuiteOptions, size: number): boolean {
  if (options.loadGenerator === "node" || !options.wrk) return false;
  return size < options.plan.wrkBelow || (options.loadGenerator === "wrk" && size <= WRK_MAX_BODY);
}

const wrkBodies = new Map<string, Promise<WrkBody>>();

/** One body file per size, shared by every system (each gets the very same bytes). */
function wrkBody(options: SuiteOptions, size: number): Promise<WrkBody> {
  const key = `${options.workDir}:${size}`;
  let body = wrkBodies.get(key);
  if (!body) {
    const dir = join(options.workDir, "wrk");
    body = mkdir(dir, { recursive: true }).then(() =>
      writeWrkBody(dir, String(size), mesiboForm(0, size), size),
    );
    wrkBodies.set(key, body);
  }
  return body;
}

function throwIfFailed(result: RoundResult): void {
  if (result.errors[0]) throw new Error(result.errors[0]);
}

/** After a round: empty the store and check every acknowledged byte was really there. */
function settleBy(system: RunningSystem) {
  const { purge } = system;
  if (!purge) return undefined;
  return async (round: RoundResult): Promise<string | undefined> => {
    const stored = await purge();
    return stored.bytes < round.bytes
      ? `acknowledged ${round.bytes} bytes but the store holds ${stored.bytes}`
      : undefined;
  };
}

/**
 * Uploads into one system: `size` bytes each, or (`sizes`) the chat mix's sequence. HTTP
 * systems are driven by wrk or the Node client; the direct system drives itself.
 */
export function uploadContender(
  options: SuiteOptions,
  system: RunningSystem,
  id: CellId,
  sizes?: readonly number[],
): Contender {
  const { plan } = options;
  const round: RoundPlan = sizes ? mixRoundPlan(plan) : roundPlan(plan, id.size, id.concurrency);
  const sizeAt = (index: number) => (sizes ? (sizes[index % sizes.length] ?? 0) : id.size);
  const warmSize = sizes ? 64 * KiB : warmupSize(id.size);
  const warm = warmupPlan(id.concurrency, warmSize);
  const settle = settleBy(system);

  if (system.runner) {
    const runner = system.runner;
    const upload = (size: number, roundPlanned: RoundPlan, list?: readonly number[]) =>
      request<RoundResult>(runner.process, {
        type: "upload",
        size,
        sizes: list,
        plan: roundPlanned,
      });
    return {
      id,
      pid: system.pid,
      loadGenerator: "in-process",
      warmup: async () => {
        throwIfFailed(await upload(warmSize, warm));
        await system.purge?.();
      },
      round: () => upload(id.size, round, sizes),
      settle,
    };
  }

  const url = system.uploadUrl;
  if (!url) throw new Error(`${system.system} takes no uploads`);
  // A fresh pool each round: connections left idle while the other systems took their turn
  // may be closing on the server's side just as they would be reused (ECONNRESET).
  let agent = keepAliveAgent();
  const freshAgent = () => {
    agent.destroy();
    agent = keepAliveAgent();
  };
  let counter = 0;
  const post = async (size: number) => {
    const answer = await uploadOnce(agent, url, mesiboForm(counter++, size), size);
    return { bytes: size, answerMs: answer.answerMs };
  };
  const byWrk = !sizes && sentByWrk(options, id.size);
  const seconds = Math.max(1, Math.round(plan.roundSeconds));
  return {
    id,
    pid: system.pid,
    loadGenerator: byWrk ? "wrk" : "node",
    warmup: async () => {
      if (byWrk && plan.wrkWarmup) {
        // A second at full rate: code paths warm as they will be measured.
        const body = await wrkBody(options, id.size);
        throwIfFailed(await wrkRound(url, body, { concurrency: id.concurrency, seconds: 1 }));
      } else {
        throwIfFailed(await runRound(warm, () => post(warmSize)));
      }
      await system.purge?.();
    },
    round: async (core) => {
      if (!byWrk) {
        freshAgent();
        return runRound(round, (index) => post(sizeAt(index)));
      }
      const body = await wrkBody(options, id.size);
      return wrkRound(url, body, { concurrency: id.concurrency, seconds, core });
    },
    settle,
    close: () => agent.destroy(),
  };
}

/** The middle half of an object: a seek into the file, as a video player does. */
export function rangeFor(size: number): Range {
  const start = Math.floor(size / 4);
  return { start, end: start + Math.max(1, Math.floor(size / 2)) - 1 };
}

/** GETs of one object (whole, or the middle half) over HTTP: the gateway or the pipe. */
export function httpDownloadContender(
  options: SuiteOptions,
  id: CellId,
  pid: number,
  url: string,
): Contender {
  const range = id.operation === "range" ? rangeFor(id.size) : undefined;
  const expected = range ? range.end - range.start + 1 : id.size;
  // Throughput counts the bytes actually moved, so ranged cells plan by the range's length.
  const round = roundPlan(options.plan, expected, id.concurrency);
  let agent = keepAliveAgent();
  const get = () => downloadOnce(agent, url, expected, range);
  return {
    id,
    pid,
    loadGenerator: "node",
    warmup: async () => throwIfFailed(await runRound(warmupPlan(id.concurrency, expected), get)),
    round: () => {
      // As for uploads: no connection left idle through the other systems' turns.
      agent.destroy();
      agent = keepAliveAgent();
      return runRound(round, get);
    },
    close: () => agent.destroy(),
  };
}

/** The same GETs straight from the storage server through its SDK, in the runner. */
export function directDownloadContender(
  options: SuiteOptions,
  id: CellId,
  system: RunningSystem,
  key: string,
): Contender {
  const runner = system.runner;
  if (!runner) throw new Error("the direct system has no SDK runner");
  const range = id.operation === "range" ? rangeFor(id.size) : undefined;
  const expected = range ? range.end - range.start + 1 : id.size;
  const round = roundPlan(options.plan, expected, id.concurrency);
  const get = (planned: RoundPlan) =>
    request<RoundResult>(runner.process, { type: "download", key, range, expected, plan: planned });
  return {
    id,
    pid: system.pid,
    loadGenerator: "in-process",
    warmup: async () => throwIfFailed(await get(warmupPlan(id.concurrency, expected))),
    round: () => get(round),
  };
}
