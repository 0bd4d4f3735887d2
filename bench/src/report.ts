import type { BackendName } from "./backend.ts";
import { largeSize } from "./plan.ts";
import {
  findCell,
  isGatewaySystem,
  pipeCellFor,
  SYSTEM_LABELS,
  type BenchResults,
  type CellId,
  type CellResult,
  type Operation,
} from "./results.ts";
import type { TargetCheck } from "./targets.ts";
import { fmt, formatSize, GiB, MiB } from "./units.ts";

/** A 1-minute load average at the start this high is explained in the report (it trails). */
export const LOADED_THRESHOLD = 1.5;
/** Other work using this many cores on average during the run makes its figures noisy. */
export const FOREIGN_CORES_THRESHOLD = 0.25;

const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
const header = (names: string[]) => [row(names), row(names.map(() => "---"))];

function ratio(a: CellResult, b: CellResult | undefined, metric: "mibPerSec" | "requestsPerSec") {
  if (a.status !== "ok" || b?.status !== "ok") return "–";
  const x = a[metric];
  const y = b[metric];
  return x !== undefined && y ? `${fmt(x / y, 2)}×` : "–";
}

function figures(cell: CellResult): string[] {
  if (cell.status !== "ok") {
    const what = cell.status === "skipped" ? "skipped" : "**failed**";
    return [
      `${what}${cell.note ? `: ${cell.note.replaceAll("|", "\\|")}` : ""}`,
      "",
      "",
      "",
      "",
      "",
    ];
  }
  const noisy = (cell.foreignCores ?? 0) >= FOREIGN_CORES_THRESHOLD ? " †" : "";
  return [
    fmt(cell.mibPerSec) + noisy,
    fmt(cell.requestsPerSec),
    fmt(cell.p50Ms),
    fmt(cell.p99Ms),
    cell.peakRssBytes === undefined ? "–" : fmt(cell.peakRssBytes / MiB),
    String(cell.requests),
  ];
}

function systemName(cell: CellId): string {
  const label = SYSTEM_LABELS[cell.system];
  if (!cell.backend) return label;
  // The pipe serves local files whatever the backend: it is only measured alongside it.
  return cell.system === "pipe"
    ? `${label} (next to ${cell.backend})`
    : `${label} (${cell.backend})`;
}

/**
 * The busboy server storing through the fs adapter that an fs gateway configuration is set
 * against: the same durability, no gateway. None for other backends.
 */
function adapterReference(cells: readonly CellResult[], gateway: CellId): CellResult | undefined {
  if (gateway.backend !== "fs") return undefined;
  const system = gateway.system === "unsyncedGateway" ? "adapterBusboy" : "durableAdapterBusboy";
  return findCell(cells, { ...gateway, system, backend: undefined });
}

function uploadTables(results: BenchResults): string[] {
  const out: string[] = [];
  const { cells } = results;
  for (const size of results.sizes) {
    out.push("", `### ${formatSize(size)} uploads`, "");
    out.push(
      ...header([
        "system",
        "conc.",
        "MiB/s",
        "uploads/s",
        "p50 ms",
        "p99 ms",
        "peak RSS MiB",
        "requests",
        "÷ direct SDK",
        "÷ bare busboy",
        "÷ fsynced busboy",
        "÷ busboy → fs adapter",
        "÷ drain",
      ]),
    );
    for (const concurrency of results.concurrencies) {
      const ref = (system: "drain" | "busboy" | "durableBusboy") =>
        findCell(cells, { system, operation: "upload", size, concurrency });
      const rows = cells.filter(
        (c) => c.operation === "upload" && c.size === size && c.concurrency === concurrency,
      );
      for (const cell of rows) {
        const isGateway = isGatewaySystem(cell.system);
        const direct = findCell(cells, { ...cell, system: "direct" });
        const metric = size < MiB ? "requestsPerSec" : "mibPerSec";
        out.push(
          row([
            isGateway ? `**${systemName(cell)}**` : systemName(cell),
            concurrency,
            ...figures(cell),
            isGateway ? ratio(cell, direct, metric) : "",
            isGateway ? ratio(cell, ref("busboy"), metric) : "",
            isGateway ? ratio(cell, ref("durableBusboy"), metric) : "",
            isGateway && cell.backend === "fs"
              ? ratio(cell, adapterReference(cells, cell), metric)
              : "",
            isGateway ? ratio(cell, ref("drain"), metric) : "",
          ]),
        );
      }
    }
  }
  return out;
}

function downloadTables(results: BenchResults): string[] {
  const cells = results.cells.filter((c) => c.operation !== "upload");
  if (cells.length === 0) return [];
  const out = ["", "## Downloads", ""];
  out.push(
    "Full GETs and ranged GETs (the middle half of the object, as a video player seeks) of an " +
      "object stored through the gateway, against a plain `fs.createReadStream` pipe server " +
      "serving the same bytes from a local file (measured cell by cell next to each " +
      "backend's gateway, so both share the machine's state), and — on backends with a storage server — " +
      "the same reads straight from that server through its SDK. MiB/s counts the bytes received.",
  );
  for (const operation of ["download", "range"] as Operation[]) {
    for (const size of results.sizes) {
      const rows = cells.filter((c) => c.operation === operation && c.size === size);
      if (rows.length === 0) continue;
      const what = operation === "range" ? "ranged GET (middle half)" : "full GET";
      out.push("", `### ${formatSize(size)}, ${what}`, "");
      out.push(
        ...header([
          "system",
          "conc.",
          "MiB/s",
          "GETs/s",
          "p50 ms",
          "p99 ms",
          "peak RSS MiB",
          "requests",
          "÷ pipe",
          "÷ direct SDK",
        ]),
      );
      for (const concurrency of results.concurrencies) {
        for (const cell of rows.filter((c) => c.concurrency === concurrency)) {
          const pipe = pipeCellFor(cells, cell);
          const direct = findCell(cells, { ...cell, system: "direct" });
          const isGateway = isGatewaySystem(cell.system);
          const metric = size < MiB ? "requestsPerSec" : "mibPerSec";
          out.push(
            row([
              isGateway ? `**${systemName(cell)}**` : systemName(cell),
              concurrency,
              ...figures(cell),
              cell.system === "pipe" ? "" : ratio(cell, pipe, metric),
              isGateway ? ratio(cell, direct, metric) : "",
            ]),
          );
        }
      }
    }
  }
  return out;
}

function ratioSummary(results: BenchResults): string[] {
  const { cells } = results;
  const out = ["", "## Gateway ratios", ""];
  out.push(
    "Gateway upload throughput divided by each reference at the same size and concurrency " +
      "(uploads/s below 1 MiB, MiB/s from 1 MiB).",
    "",
  );
  out.push(
    ...header([
      "backend",
      "size",
      "conc.",
      "÷ direct SDK",
      "÷ bare busboy",
      "÷ fsynced busboy",
      "÷ busboy → fs adapter",
      "÷ drain",
    ]),
  );
  for (const backend of results.backends as BackendName[]) {
    for (const size of results.sizes) {
      for (const concurrency of results.concurrencies) {
        const id = { operation: "upload" as const, size, concurrency };
        for (const system of ["gateway", "unsyncedGateway"] as const) {
          const gw = findCell(cells, { system, backend, ...id });
          if (!gw) continue;
          const metric = size < MiB ? "requestsPerSec" : "mibPerSec";
          out.push(
            row([
              system === "gateway" ? backend : `${backend}, FS_DURABLE=false`,
              formatSize(size),
              concurrency,
              ratio(gw, findCell(cells, { system: "direct", backend, ...id }), metric),
              ratio(gw, findCell(cells, { system: "busboy", ...id }), metric),
              ratio(gw, findCell(cells, { system: "durableBusboy", ...id }), metric),
              backend === "fs" ? ratio(gw, adapterReference(cells, gw), metric) : "",
              ratio(gw, findCell(cells, { system: "drain", ...id }), metric),
            ]),
          );
        }
      }
    }
  }
  return out;
}

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
      "Every system under test ran as a child process on 127.0.0.1; memory is the peak " +
      "resident set of that process, read from `/proc/<pid>/status` outside it. " +
      "Sizes and rates are binary: 1 MiB = 2^20 bytes. See [README.md](README.md) for what each comparison is.",
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
        `${FOREIGN_CORES_THRESHOLD} cores or more while they ran.`
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
    `${passed} of ${checks.length} pass. Large-file targets are judged at ${formatSize(largeSize(results))}.`,
    "",
    ...header(["", "target", "figure"]),
    ...checks.map((c) =>
      row([
        c.status === "PASS" ? "PASS" : `**${c.status}**`,
        c.name,
        c.figure + (c.note ? ` — ${c.note}` : ""),
      ]),
    ),
  ];
  if (chartFile) out.push("", `![Upload throughput against file size per backend](${chartFile})`);
  out.push(...memoryTable(results));
  out.push(...ratioSummary(results));
  out.push("", "## Uploads", "");
  out.push(
    "MiB/s and uploads/s are the median of the cell's rounds; p50/p99 pool every request. " +
      "`requests` counts timed requests. The naive baseline is skipped where it would hold " +
      "gigabytes in memory at once.",
  );
  out.push(...uploadTables(results));
  out.push(...downloadTables(results));
  return `${out.join("\n")}\n`;
}
