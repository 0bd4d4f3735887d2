/**
 * `npm run bench`: the gateway on every backend against the direct SDK, a naive Express
 * baseline, a bare busboy server and a raw drain, then downloads against a plain pipe.
 * Prints every figure and each target as PASS or FAIL, and writes RESULTS.md and a chart.
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
import { SYSTEM_LABELS, type BenchResults, type CellResult, type MemoryProbe } from "./results.ts";
import { summarizeProfiles } from "./profile-summary.ts";
import { runSuite, saveRaw } from "./suite.ts";
import { evaluateTargets, type TargetCheck } from "./targets.ts";
import { fmt, formatSize, GiB, MiB } from "./units.ts";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

function describeCell(cell: CellResult): string {
  const what = `${SYSTEM_LABELS[cell.system]}${cell.backend ? ` [${cell.backend}]` : ""}`;
  const op =
    cell.operation === "upload" ? "upload" : cell.operation === "range" ? "ranged GET" : "GET";
  const head = `  ${what.padEnd(44)} ${op.padEnd(10)} ${formatSize(cell.size).padStart(8)} ×${String(cell.concurrency).padEnd(3)}`;
  if (cell.status !== "ok") return `${head} ${cell.status.toUpperCase()}: ${cell.note ?? ""}`;
  return (
    `${head} ${fmt(cell.mibPerSec).padStart(6)} MiB/s ${fmt(cell.requestsPerSec).padStart(6)} req/s ` +
    `p50 ${fmt(cell.p50Ms).padStart(6)} ms  p99 ${fmt(cell.p99Ms).padStart(6)} ms  ` +
    `RSS ${fmt((cell.peakRssBytes ?? 0) / MiB).padStart(5)} MiB` +
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
  console.log(
    `  backends ${plan.backends.join(", ")}; sizes ${plan.sizes.map(formatSize).join(", ")}; ` +
      `concurrency ${plan.concurrencies.join(", ")}; logs in ${relative(process.cwd(), logDir)}`,
  );

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
