/**
 * `npm run bench`: the gateway on every backend against the direct SDK, the Express + multer
 * endpoints people build, bare busboy servers and a raw drain, in alternating rounds; then a
 * chat mix and downloads. Prints every figure and each target as PASS or FAIL (by median),
 * and writes RESULTS.md and a chart.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { renderChart } from "./chart.ts";
import { killAllChildren } from "./child-process.ts";
import { ForeignLoad } from "./foreign-load.ts";
import { describeMachine, loadAverage1m } from "./machine.ts";
import { parseOptions, USAGE } from "./options.ts";
import { renderMarkdown } from "./report.ts";
import {
  spreadOf,
  SYSTEM_LABELS,
  type BenchResults,
  type CellResult,
  type MemoryProbe,
} from "./results.ts";
import { summarizeProfiles } from "./profile-summary.ts";
import { runSuite, saveRaw } from "./suite.ts";
import { evaluateTargets, type TargetCheck } from "./targets.ts";
import { cellFilter } from "./groups.ts";
import { fmt, fmtSpread, formatSize, GiB, MiB } from "./units.ts";
import { commandExists, WRK } from "./wrk.ts";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

function describeCell(cell: CellResult): string {
  const what = `${SYSTEM_LABELS[cell.system]} [${cell.backend}]`;
  const op = { upload: "upload", download: "GET", range: "ranged GET", mix: "chat mix" }[
    cell.operation
  ];
  const size = cell.operation === "mix" ? "" : formatSize(cell.size);
  const head = `  ${what.padEnd(46)} ${op.padEnd(10)} ${size.padStart(8)} ×${String(cell.concurrency).padEnd(3)}`;
  if (cell.status !== "ok") return `${head} ${cell.status.toUpperCase()}: ${cell.note ?? ""}`;
  const per = cell.operation === "upload" || cell.operation === "mix" ? "up" : "GET";
  const cpu = spreadOf(cell, "cpuMsPerRequest");
  const client = spreadOf(cell, "clientCpuMsPerRequest")?.median;
  return (
    `${head} ${fmtSpread(spreadOf(cell, "requestsPerSec"))} ${per}/s, ` +
    `${fmtSpread(spreadOf(cell, "mibPerSec"))} MiB/s; ` +
    `CPU ${fmtSpread(cpu)} ms/${per}` +
    (client !== undefined ? ` (client ${fmt(client)})` : "") +
    `; p50 ${fmt(cell.p50Ms)} p99 ${fmt(cell.p99Ms)} ms; RSS ${fmt((cell.peakRssBytes ?? 0) / MiB)} MiB` +
    (cell.loadGenerator === "wrk" ? ` [wrk${cell.pinned ? ", pinned" : ""}]` : "") +
    ((cell.foreignCores ?? 0) >= 0.25 ? `  (other work: ${fmt(cell.foreignCores, 2)} cores)` : "")
  );
}

function describeProbe(probe: MemoryProbe): string {
  const head = `  memory probe: one ${formatSize(probe.size)} upload into a fresh gateway [${probe.backend}]`;
  if (probe.status !== "ok") return `${head} FAILED: ${probe.note ?? ""}`;
  return (
    `${head}: RSS ${fmt((probe.idleRssBytes ?? 0) / MiB)} MiB idle, ` +
    `${fmt((probe.peakRssBytes ?? 0) / MiB)} MiB peak (${fmt(probe.mibPerSec)} MiB/s)`
  );
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  if (options.rerender) {
    const saved = JSON.parse(await readFile(join(options.rerender, "results.json"), "utf8")) as {
      results: BenchResults;
    };
    return report(saved.results, options.outDir ?? options.rerender);
  }
  const { plan } = options;
  const machine = describeMachine();
  const started = new Date();
  const stamp = started.toISOString().replaceAll(":", "-").slice(0, 19);
  const runDir = join(BENCH_DIR, "results", `${stamp}-${plan.mode}`);
  const logDir = join(runDir, "logs");
  await mkdir(logDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), "mediagate-bench-"));
  const loadBefore = loadAverage1m();
  const foreign = new ForeignLoad();

  const abort = (signal: NodeJS.Signals) => {
    killAllChildren();
    rm(workDir, { recursive: true, force: true }).finally(() =>
      process.exit(signal === "SIGINT" ? 130 : 143),
    );
  };
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  process.once("exit", killAllChildren);

  console.log(
    `mediagate benchmark (${plan.mode}) on ${machine.cpuModel}, ${machine.cores} cores, ` +
      `${fmt(machine.memoryBytes / GiB)} GiB, Node ${machine.node}; load ${fmt(loadBefore, 2)}`,
  );
  const wrk = await commandExists(WRK);
  console.log(
    `  backends ${plan.backends.join(", ")}; sizes ${plan.sizes.map(formatSize).join(", ")}; ` +
      `concurrency ${plan.concurrencies.join(", ")}; ${plan.rounds} alternating rounds per cell` +
      (options.cells ? `; cells ${options.cells}` : "") +
      (options.systems ? `; systems ${options.systems.join(", ")}` : "") +
      `; small uploads from ${options.loadGenerator === "node" || !wrk ? "the Node client" : "wrk"}` +
      (options.pin ? " (pinned)" : "") +
      `; logs in ${relative(process.cwd(), logDir)}`,
  );
  if (!wrk && options.loadGenerator !== "node") {
    console.log(
      `  ${WRK} is not installed: the Node client sends every upload (apt-get install wrk)`,
    );
  }

  let cells: CellResult[];
  let probes: MemoryProbe[];
  let problems: string[];
  try {
    ({ cells, probes, problems } = await runSuite({
      plan,
      workDir,
      logDir,
      profileDir: options.profile ? join(runDir, "profiles") : undefined,
      gatewayEnv: options.gatewayEnv,
      gatewayDir: options.gatewayDir,
      selects: cellFilter(options.cells),
      systems: options.systems,
      loadGenerator: options.loadGenerator,
      wrk,
      pin: options.pin,
      onCell: (cell) => console.log(describeCell(cell)),
      onProbe: (probe) => console.log(describeProbe(probe)),
      log: (message) => console.log(message),
    }));
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const load = { start: loadBefore, foreignCores: foreign.cores() };
  const finished = new Date();
  const results: BenchResults = {
    mode: plan.mode,
    machine,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    load,
    sizes: plan.sizes,
    concurrencies: plan.concurrencies,
    backends: plan.backends,
    settings: {
      rounds: plan.rounds,
      mix: plan.mix,
      pin: options.pin,
      loadGenerator: options.loadGenerator === "node" || !wrk ? "node" : options.loadGenerator,
      cells: options.cells,
      systems: options.systems,
      profiled: options.profile,
      gatewayDir: options.gatewayDir,
    },
    cells,
    probes,
    problems,
    gatewayEnv: options.gatewayEnv,
  };
  const checks = evaluateTargets(results);
  if (options.profile) {
    // Profiles are written when each gateway exits, which runSuite has waited for.
    const profileDir = join(runDir, "profiles");
    const summary = await summarizeProfiles(profileDir);
    await writeFile(join(profileDir, "summary.txt"), summary);
    console.log(`
Gateway CPU profiles (${relative(process.cwd(), profileDir)})
${summary}`);
  }
  await saveRaw(join(runDir, "results.json"), { results, checks });
  const outDir = options.outDir ?? (options.complete ? BENCH_DIR : runDir);
  return report(results, outDir, checks);
}

/** Prints every target, writes RESULTS.md and the chart; the exit code says if all passed. */
async function report(
  results: BenchResults,
  outDir: string,
  checks: TargetCheck[] = evaluateTargets(results),
): Promise<number> {
  console.log("\nTargets");
  for (const check of checks) {
    console.log(
      `  ${check.status.padEnd(4)}  ${check.name}: ${check.figure}${check.note ? ` — ${check.note}` : ""}`,
    );
  }

  await mkdir(outDir, { recursive: true });
  const chartName = "throughput.svg";
  await writeFile(join(outDir, chartName), renderChart(results));
  await writeFile(join(outDir, "RESULTS.md"), renderMarkdown(results, checks, chartName));
  console.log(
    `\n${relative(process.cwd(), join(outDir, "RESULTS.md"))} and ${chartName} written ` +
      `(${fmt(results.durationSeconds, 3)} s).`,
  );
  const failures = checks.filter((c) => c.status !== "PASS").length;
  const broken =
    results.cells.filter((c) => c.status === "failed").length + results.problems.length;
  if (failures || broken) {
    console.log(`${failures} target(s) not met, ${broken} cell(s) failed.`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killAllChildren();
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
