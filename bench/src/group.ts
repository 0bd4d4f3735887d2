/**
 * One group of cells measured side by side: every system's warm-up, then rounds in turn —
 * A B C, A B C, A B C — so a slow minute on a shared machine lands on every system alike
 * instead of on whichever ran during it. Each round reads the CPU time of the process under
 * test (and of the load generator and the storage server) from /proc around it.
 */
import { execFile } from "node:child_process";
import { cpus } from "node:os";
import { promisify } from "node:util";
import { ForeignLoad } from "./foreign-load.ts";
import type { RoundResult } from "./load-loop.ts";
import { processCpuSeconds, treeCpuSeconds } from "./proc-cpu.ts";
import type { CellId, CellResult, LoadGenerator, RoundFigures } from "./results.ts";
import { RssSampler } from "./rss-sampler.ts";
import { median, percentile } from "./stats.ts";
import { MiB } from "./units.ts";

const run = promisify(execFile);

export interface Contender {
  id: CellId;
  /** The process under test: its CPU and memory are the cell's. */
  pid: number;
  loadGenerator: LoadGenerator;
  /** Untimed requests first: connections open, code paths warm. */
  warmup(): Promise<void>;
  /** One timed round; `core` pins the load generator to that core (wrk only). */
  round(core: number | undefined): Promise<RoundResult>;
  /**
   * After each round, untimed: empty the store and say why the round must fail (fewer bytes
   * stored than acknowledged), if it must.
   */
  settle?(round: RoundResult): Promise<string | undefined>;
  /** Releases what the contender holds (its connections) once the group is done. */
  close?(): void;
}

export interface GroupOptions {
  rounds: number;
  /** Pin wrk to one core and the process under test to the other, for wrk's rounds. */
  pin: boolean;
  /** The storage server's process (its tree), whose CPU per request is reported too. */
  storagePid?: number;
}

interface State {
  contender: Contender;
  rounds: RoundResult[];
  figures: RoundFigures[];
  sampledPeak: number;
  hwm: boolean;
  failure?: string;
}

async function setAffinity(pid: number, cores: string): Promise<void> {
  // -a: every thread the process has now; threads it starts later inherit from theirs.
  await run("/usr/bin/taskset", ["-a", "-p", "-c", cores, String(pid)]);
}

/** Runs the group and returns one cell per contender, in the contenders' order. */
export async function measureGroup(
  contenders: readonly Contender[],
  options: GroupOptions,
): Promise<CellResult[]> {
  const states: State[] = contenders.map((contender) => ({
    contender,
    rounds: [],
    figures: [],
    sampledPeak: 0,
    hwm: false,
  }));
  for (const state of states) {
    try {
      await state.contender.warmup();
    } catch (err) {
      state.failure = `warm-up failed: ${(err as Error).message}`;
    }
  }
  // Peaks are the group's: reset every process's high-water mark once warm.
  for (const state of states) state.hwm = new RssSampler(state.contender.pid).resetPeak();

  const allCores = `0-${cpus().length - 1}`;
  for (let r = 0; r < options.rounds; r++) {
    for (const state of states) {
      if (state.failure) continue;
      const { contender } = state;
      const pinned = options.pin && contender.loadGenerator === "wrk";
      if (pinned) await setAffinity(contender.pid, "0");
      const sampler = new RssSampler(contender.pid);
      const foreign = new ForeignLoad();
      const storage0 = options.storagePid ? treeCpuSeconds(options.storagePid) : undefined;
      const client0 = process.cpuUsage();
      const cpu0 = processCpuSeconds(contender.pid);
      sampler.start({ resetPeak: false });
      let result: RoundResult;
      try {
        result = await contender.round(pinned ? 1 : undefined);
      } catch (err) {
        result = { requests: 0, bytes: 0, wallMs: 0, latenciesMs: [], errors: [String(err)] };
      }
      const cpu1 = processCpuSeconds(contender.pid);
      const client = process.cpuUsage(client0);
      const storage1 = options.storagePid ? treeCpuSeconds(options.storagePid) : undefined;
      state.sampledPeak = Math.max(state.sampledPeak, sampler.stop().sampledBytes);
      const foreignCores = foreign.cores();
      if (pinned) await setAffinity(contender.pid, allCores);
      state.rounds.push(result);
      state.figures.push({
        requests: result.requests,
        bytes: result.bytes,
        wallMs: result.wallMs,
        cpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
        // wrk reports its own; otherwise the client is this process (the SDK runner's
        // client is the process under test itself, counted there).
        clientCpuSeconds:
          result.clientCpuSeconds ??
          (contender.loadGenerator === "node" ? (client.user + client.system) / 1e6 : undefined),
        storageCpuSeconds:
          storage0 !== undefined && storage1 !== undefined ? storage1 - storage0 : undefined,
        foreignCores,
      });
      if (result.errors.length > 0) {
        state.failure = result.errors[0];
        continue;
      }
      state.failure = await contender.settle?.(result).catch((err: Error) => err.message);
    }
  }
  for (const state of states) state.contender.close?.();
  return states.map((state) => summarize(state, options.pin));
}

function summarize(state: State, pin: boolean): CellResult {
  const { contender, rounds, figures } = state;
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const common = {
    ...contender.id,
    rounds: rounds.length,
    requests,
    loadGenerator: contender.loadGenerator,
    pinned: pin && contender.loadGenerator === "wrk",
  };
  if (state.failure) {
    return { ...common, status: "failed", note: state.failure, perRound: figures };
  }
  const latencies = rounds.flatMap((r) => r.latenciesMs);
  const summaries = rounds.flatMap((r) => (r.latencySummary ? [r.latencySummary] : []));
  const answers = rounds.flatMap((r) => r.answersMs ?? []);
  const peak = state.hwm ? new RssSampler(contender.pid).readPeak() : undefined;
  return {
    ...common,
    status: "ok",
    mibPerSec: median(figures.map((f) => f.bytes / MiB / (f.wallMs / 1000))),
    requestsPerSec: median(figures.map((f) => f.requests / (f.wallMs / 1000))),
    perRound: figures,
    p50Ms: latencies.length ? percentile(latencies, 50) : median(summaries.map((s) => s.p50Ms)),
    p99Ms: latencies.length ? percentile(latencies, 99) : median(summaries.map((s) => s.p99Ms)),
    answerP50Ms: percentile(answers, 50),
    answerP99Ms: percentile(answers, 99),
    answerMaxMs: answers.length ? Math.max(...answers) : undefined,
    peakRssBytes: Math.max(peak ?? 0, state.sampledPeak),
    foreignCores: median(figures.map((f) => f.foreignCores ?? 0)),
  };
}

/** A cell that was not measured, and why. */
export function skippedCell(id: CellId, note: string): CellResult {
  return { ...id, status: "skipped", note, rounds: 0, requests: 0 };
}
