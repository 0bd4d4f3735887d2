import { largeSize } from "./plan.ts";
import {
  answerTable,
  CPU_NOTE,
  downloadTables,
  FOREIGN_CORES_THRESHOLD,
  header,
  mixTable,
  ratioSummary,
  row,
  uploadTables,
} from "./report-tables.ts";
import type { BenchResults } from "./results.ts";
import type { TargetCheck } from "./targets.ts";
import { fmt, formatSize, GiB, MiB } from "./units.ts";

export { FOREIGN_CORES_THRESHOLD } from "./report-tables.ts";

/** A 1-minute load average at the start this high is explained in the report (it trails). */
export const LOADED_THRESHOLD = 1.5;

function memoryTable(results: BenchResults): string[] {
  if (results.probes.length === 0) return [];
  const out = ["", "## Gateway memory while one large file streams", ""];
  out.push(
    "Each backend's gateway is started fresh; before any other traffic one file is uploaded " +
      "and the gateway's resident set is read from outside (`VmHWM` since the upload began, " +
      "plus `VmRSS` sampled every 20 ms). The tables below also give each cell's peak, which " +
      "includes whatever earlier cells left behind.",
    "",
  );
  out.push(...header(["backend", "file", "RSS before", "peak RSS during the upload", "MiB/s"]));
  for (const probe of results.probes) {
    out.push(
      row(
        probe.status === "ok"
          ? [
              probe.backend,
              formatSize(probe.size),
              `${fmt((probe.idleRssBytes ?? 0) / MiB)} MiB`,
              `${fmt((probe.peakRssBytes ?? 0) / MiB)} MiB`,
              fmt(probe.mibPerSec),
            ]
          : [probe.backend, formatSize(probe.size), `**failed**: ${probe.note ?? ""}`, "", ""],
      ),
    );
  }
  return out;
}

function howMeasured(results: BenchResults): string[] {
  const s = results.settings;
  if (!s) return [];
  const lines = [
    `Every cell ran in ${s.rounds} rounds, alternating between the systems of its comparison ` +
      "(A B C, A B C, …); targets are judged on the medians.",
    `Uploads below 1 MiB were sent by ${s.loadGenerator === "node" ? "the bench's Node client" : "wrk (one thread, kept-alive connections, one fixed body)"}; ` +
      "larger ones, the chat mix and downloads by the bench's Node client.",
    s.pin
      ? "**Pinned:** during wrk's rounds wrk ran on core 1 and the process under test (all its threads) on core 0; storage servers and the bench itself were not pinned."
      : "Nothing was pinned to a core.",
  ];
  if (s.profiled)
    lines.push(
      "**Profiled run:** the gateway ran with `--cpu-prof`; its CPU figures include the profiler's cost.",
    );
  if (s.cells || s.systems) {
    lines.push(
      `**Filtered run:** ${[s.cells ? `cells \`${s.cells}\`` : "", s.systems ? `systems ${s.systems.join(", ")}` : ""].filter(Boolean).join("; ")}.`,
    );
  }
  if (s.gatewayDir) lines.push(`**Gateway build measured:** \`${s.gatewayDir}\`.`);
  return ["", ...lines.map((l) => `- ${l}`)];
}

export function renderMarkdown(
  results: BenchResults,
  checks: TargetCheck[],
  chartFile: string | undefined,
): string {
  const m = results.machine;
  // Judged by what other work used while the run went on. The load average before it trails
  // over minutes, so on its own it would also count work that had just ended.
  const loaded = results.load.foreignCores >= FOREIGN_CORES_THRESHOLD;
  const trailing =
    !loaded && results.load.start >= LOADED_THRESHOLD
      ? ` The 1-minute load average read ${fmt(results.load.start, 2)} at the start, from work ` +
        "that had just ended (it trails by minutes)."
      : "";
  const passed = checks.filter((c) => c.status === "PASS").length;
  const out = [
    "# mediagate benchmark results",
    "",
    `Produced by \`npm run bench${results.mode === "quick" ? " -- --quick" : ""}\` on ${results.finishedAt.slice(0, 10)}: ` +
      `a ${results.mode} run of ${fmt(results.durationSeconds / 60, 2)} minutes. ` +
      "Every system under test ran as a child process on 127.0.0.1; its memory and CPU time are " +
      "read from `/proc/<pid>/` outside it. " +
      "Sizes and rates are binary: 1 MiB = 2^20 bytes. See [README.md](README.md) for what each comparison is.",
    ...howMeasured(results),
    "",
    "## Machine",
    "",
    ...header([
      "CPU",
      "cores",
      "memory",
      "Node.js",
      "kernel",
      "1-min load before",
      "other work during the run",
    ]),
    row([
      m.cpuModel,
      m.cores,
      `${fmt(m.memoryBytes / GiB)} GiB`,
      m.node,
      m.kernel,
      fmt(results.load.start, 2),
      `${fmt(results.load.foreignCores, 2)} cores on average`,
    ]),
    "",
    loaded
      ? `**The machine was loaded during this run**: other work (not the benchmark's processes) ` +
        `used ${fmt(results.load.foreignCores, 2)} of its ${m.cores} cores on average, and the ` +
        `1-minute load average was ${fmt(results.load.start, 2)} when it started. Absolute figures ` +
        "are lower and noisier than on an idle machine; cells marked † had other work using " +
        `${FOREIGN_CORES_THRESHOLD} cores or more while they ran (median of their rounds).`
      : `The machine was otherwise idle: other work used ${fmt(results.load.foreignCores, 2)} cores on ` +
        `average during the run (measured from /proc as the machine's busy time minus the benchmark's own).` +
        trailing,
    "",
    ...(Object.keys(results.gatewayEnv).length > 0
      ? [
          "**The gateways ran with extra environment:** " +
            Object.entries(results.gatewayEnv)
              .map(([k, v]) => `\`${k}=${v}\``)
              .join(", "),
          "",
        ]
      : []),
    ...(results.problems.length > 0
      ? ["**Not measured:**", "", ...results.problems.map((p) => `- ${p}`), ""]
      : []),
    "## Targets",
    "",
    `${passed} of ${checks.length} pass, judged on the median of each side's rounds (the range ` +
      `gives each round pair's ratio). Large-file targets are judged at ${formatSize(largeSize(results))}.`,
    "",
    ...header(["", "target", "figure"]),
    ...checks.map((c) =>
      row([
        c.status === "PASS" ? "PASS" : `**${c.status}**`,
        c.name,
        (c.figure + (c.note ? ` — ${c.note}` : "")).replace(/\s+/g, " ").replaceAll("|", "\\|"),
      ]),
    ),
  ];
  if (chartFile) out.push("", `![Upload throughput against file size per backend](${chartFile})`);
  out.push(...memoryTable(results));
  out.push(...ratioSummary(results));
  out.push(...mixTable(results));
  out.push(...answerTable(results));
  out.push("", "## Uploads", "", CPU_NOTE);
  out.push(
    "",
    "The naive baseline is skipped where it would hold gigabytes in memory at once, the " +
      "informational references where one round would move gigabytes.",
  );
  out.push(...uploadTables(results));
  out.push(...downloadTables(results));
  return `${out.join("\n")}\n`;
}
