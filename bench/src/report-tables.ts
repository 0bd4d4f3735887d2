/** The report's tables: uploads, the chat mix, answer times, downloads, gateway ratios. */
import type { BackendName } from "./backend.ts";
import { MIX_CLASSES } from "./mix.ts";
import {
  findCell,
  isGatewaySystem,
  spreadOf,
  SYSTEM_LABELS,
  type BenchResults,
  type CellId,
  type CellResult,
  type Metric,
  type Operation,
} from "./results.ts";
import { fmt, fmtSpread, formatSize, MiB } from "./units.ts";

/** Other work using this many cores on average during a cell marks it (†). */
export const FOREIGN_CORES_THRESHOLD = 0.25;
/** Native mesibo clients give up when no answer has begun this long after the last byte. */
const NATIVE_PATIENCE_MS = 10_000;

export const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
export const header = (names: string[]) => [row(names), row(names.map(() => "---"))];

const spread = (cell: CellResult, metric: Metric, digits = 3) =>
  fmtSpread(spreadOf(cell, metric), digits);

function systemName(cell: CellId): string {
  const label = SYSTEM_LABELS[cell.system];
  return isGatewaySystem(cell.system) ? `**${label}**` : label;
}

const GENERATORS = { node: "Node", wrk: "wrk", "in-process": "itself" } as const;

/** The measured columns shared by every table; a failed or skipped cell says why instead. */
function figures(cell: CellResult, perGiB: boolean): string[] {
  const width = perGiB ? 9 : 8;
  if (cell.status !== "ok") {
    const what = cell.status === "skipped" ? "skipped" : "**failed**";
    const text = cell.note?.replace(/\s+/g, " ").replaceAll("|", "\\|").slice(0, 300);
    const note = `${what}${text ? `: ${text}` : ""}`;
    return [note, ...Array<string>(width - 1).fill("")];
  }
  const noisy = (cell.foreignCores ?? 0) >= FOREIGN_CORES_THRESHOLD ? " †" : "";
  const pin = cell.pinned ? " (pinned)" : "";
  return [
    `${GENERATORS[cell.loadGenerator ?? "node"]}${pin}`,
    spread(cell, "mibPerSec") + noisy,
    spread(cell, "requestsPerSec"),
    spread(cell, "cpuMsPerRequest"),
    ...(perGiB ? [fmt(spreadOf(cell, "cpuSecondsPerGiB")?.median)] : []),
    fmt(spreadOf(cell, "clientCpuMsPerRequest")?.median),
    fmt(spreadOf(cell, "storageCpuMsPerRequest")?.median),
    `${fmt(cell.p50Ms)} / ${fmt(cell.p99Ms)}`,
    cell.peakRssBytes === undefined ? "–" : fmt(cell.peakRssBytes / MiB),
  ];
}

function figureHeader(perGiB: boolean, per = "upload"): string[] {
  return [
    "load from",
    "MiB/s",
    `${per}s/s`,
    `CPU ms/${per}`,
    ...(perGiB ? ["CPU s/GiB"] : []),
    `client CPU ms/${per}`,
    `storage CPU ms/${per}`,
    "p50 / p99 ms",
    "peak RSS MiB",
  ];
}

export function uploadTables(results: BenchResults): string[] {
  const out: string[] = [];
  for (const size of results.sizes) {
    const cells = results.cells.filter((c) => c.operation === "upload" && c.size === size);
    if (cells.length === 0) continue;
    const perGiB = size >= MiB;
    out.push("", `### ${formatSize(size)} uploads`, "");
    out.push(...header(["backend", "system", "conc.", ...figureHeader(perGiB), "rounds"]));
    for (const backend of results.backends) {
      for (const concurrency of results.concurrencies) {
        for (const cell of cells.filter(
          (c) => c.backend === backend && c.concurrency === concurrency,
        )) {
          out.push(
            row([backend, systemName(cell), concurrency, ...figures(cell, perGiB), cell.rounds]),
          );
        }
      }
    }
  }
  return out;
}

export function mixTable(results: BenchResults): string[] {
  const cells = results.cells.filter((c) => c.operation === "mix");
  if (cells.length === 0) return [];
  const mix = results.settings?.mix;
  const classes = MIX_CLASSES.map((c) => `${Math.round(c.share * 100)} % ${c.label}`).join(", ");
  const out = ["", "## Chat mix", ""];
  out.push(
    `Uploads of ${classes}: one seeded sequence (${mix ? `${mix.uploads} files per round, seed ${mix.seed}` : "seeded"}), ` +
      `the same files in the same order for every system, over ${mix?.concurrency ?? 64} connections. ` +
      "A round sends the whole sequence; uploads/s and MiB/s are medians of rounds. " +
      "`gateway ÷` is the gateway's uploads/s over the system's.",
    "",
  );
  out.push(...header(["backend", "system", ...figureHeader(false), "gateway ÷", "rounds"]));
  for (const backend of results.backends) {
    const gateway = findCell(cells, {
      system: "gateway",
      backend,
      operation: "mix",
      size: 0,
      concurrency: mix?.concurrency ?? 64,
    });
    for (const cell of cells.filter((c) => c.backend === backend)) {
      const ratio = isGatewaySystem(cell.system) ? "" : ratioText(gateway, cell, "requestsPerSec");
      out.push(row([backend, systemName(cell), ...figures(cell, false), ratio, cell.rounds]));
    }
  }
  return out;
}

/** Issue 14 part 7: the wait between the last byte sent and the answer, per size and backend. */
export function answerTable(results: BenchResults): string[] {
  const cells = results.cells.filter((c) => c.operation === "upload" && c.system === "gateway");
  if (cells.length === 0) return [];
  const out = ["", "## Gateway: from the last byte sent to the answer", ""];
  out.push(
    "Milliseconds from the last request byte handed to the kernel to the answer's first byte " +
      "(p50 / p99 / max over every upload of the cell, the default gateway). Native mesibo " +
      `clients give up after ${NATIVE_PATIENCE_MS / 1000} s (marked ⚠) and resend the whole file. ` +
      "Cells sent by wrk have no per-request split; their whole-request latency (≤) bounds it: " +
      "a 16 KiB body leaves in one write.",
    "",
  );
  out.push(...header(["backend", "conc.", ...results.sizes.map(formatSize)]));
  for (const backend of results.backends) {
    for (const concurrency of results.concurrencies) {
      const line = results.sizes.map((size) => {
        const cell = findCell(cells, {
          system: "gateway",
          backend,
          operation: "upload",
          size,
          concurrency,
        });
        if (cell?.status !== "ok") return "–";
        const warn = (ms: number | undefined) => ((ms ?? 0) >= NATIVE_PATIENCE_MS ? " ⚠" : "");
        if (cell.answerP50Ms === undefined)
          return `≤ ${fmt(cell.p50Ms)} / ≤ ${fmt(cell.p99Ms)}${warn(cell.p99Ms)}`;
        return `${fmt(cell.answerP50Ms)} / ${fmt(cell.answerP99Ms)} / ${fmt(cell.answerMaxMs)}${warn(cell.answerMaxMs)}`;
      });
      if (line.some((v) => v !== "–")) out.push(row([backend, concurrency, ...line]));
    }
  }
  return out;
}

function ratioText(a: CellResult | undefined, b: CellResult | undefined, metric: Metric): string {
  const x = spreadOf(a, metric)?.median;
  const y = spreadOf(b, metric)?.median;
  return x !== undefined && y ? `${fmt(x / y, 2)}×` : "–";
}

export function downloadTables(results: BenchResults): string[] {
  const all = results.cells.filter((c) => c.operation === "download" || c.operation === "range");
  if (all.length === 0) return [];
  const out = ["", "## Downloads", ""];
  out.push(
    "Full GETs and ranged GETs (the middle half of the object, as a video player seeks) of an " +
      "object stored through the gateway. On fs the reference is a plain `fs.createReadStream` " +
      "pipe serving the same bytes; on the cloud backends it is the backend's SDK reading the " +
      "same bytes straight from the same server (`÷ reference`). MiB/s counts the bytes received.",
  );
  for (const operation of ["download", "range"] as Operation[]) {
    for (const size of results.sizes) {
      const cells = all.filter((c) => c.operation === operation && c.size === size);
      if (cells.length === 0) continue;
      const what = operation === "range" ? "ranged GET (middle half)" : "full GET";
      out.push("", `### ${formatSize(size)}, ${what}`, "");
      out.push(
        ...header([
          "backend",
          "system",
          "conc.",
          ...figureHeader(size >= MiB, "GET"),
          "÷ reference",
        ]),
      );
      for (const backend of results.backends) {
        for (const concurrency of results.concurrencies) {
          for (const cell of cells.filter(
            (c) => c.backend === backend && c.concurrency === concurrency,
          )) {
            const reference = findCell(all, {
              ...cell,
              system: backend === "fs" ? "pipe" : "direct",
            });
            const ratio = isGatewaySystem(cell.system)
              ? ratioText(cell, reference, "mibPerSec")
              : "";
            out.push(
              row([backend, systemName(cell), concurrency, ...figures(cell, size >= MiB), ratio]),
            );
          }
        }
      }
    }
  }
  return out;
}

export function ratioSummary(results: BenchResults): string[] {
  const { cells } = results;
  const out = ["", "## Gateway ratios", ""];
  out.push(
    "Gateway upload throughput divided by each reference's at the same size and concurrency, " +
      "medians of rounds (uploads/s below 1 MiB, MiB/s from 1 MiB); `CPU ÷ multer` divides the " +
      "gateway's CPU per upload by the multer reference's (diskStorage on fs, multer-s3 on s3). " +
      "Busboy and the drain run on fs; the cloud rows set their gateway beside them for scale.",
    "",
  );
  out.push(
    ...header([
      "backend",
      "size",
      "conc.",
      "÷ direct SDK",
      "÷ multer",
      "CPU ÷ multer",
      "÷ bare busboy",
      "÷ fsynced busboy",
      "÷ busboy → fs adapter",
      "÷ drain",
    ]),
  );
  for (const backend of results.backends as BackendName[]) {
    const multer = backend === "fs" ? "multerDisk" : backend === "s3" ? "multerS3" : undefined;
    for (const size of results.sizes) {
      for (const concurrency of results.concurrencies) {
        const id = { operation: "upload" as const, size, concurrency };
        for (const system of ["gateway", "unsyncedGateway"] as const) {
          const gw = findCell(cells, { system, backend, ...id });
          if (!gw) continue;
          const metric = size < MiB ? "requestsPerSec" : "mibPerSec";
          const fsRef = (ref: "busboy" | "durableBusboy" | "drain") =>
            findCell(cells, { system: ref, backend: "fs", ...id });
          const mc = multer ? findCell(cells, { system: multer, backend, ...id }) : undefined;
          const adapter = system === "gateway" ? "durableAdapterBusboy" : "adapterBusboy";
          out.push(
            row([
              system === "gateway" ? backend : `${backend}, FS_DURABLE=false`,
              formatSize(size),
              concurrency,
              ratioText(gw, findCell(cells, { system: "direct", backend, ...id }), metric),
              mc ? ratioText(gw, mc, metric) : "",
              mc ? ratioText(gw, mc, "cpuMsPerRequest") : "",
              ratioText(gw, fsRef("busboy"), metric),
              ratioText(gw, fsRef("durableBusboy"), metric),
              backend === "fs"
                ? ratioText(gw, findCell(cells, { system: adapter, backend, ...id }), metric)
                : "",
              ratioText(gw, fsRef("drain"), metric),
            ]),
          );
        }
      }
    }
  }
  return out;
}

/** CPU per GiB is shown from 1 MiB up; this says what the columns mean. */
export const CPU_NOTE =
  "Every figure is the median of the cell's rounds, with the range of the rounds in brackets. " +
  "`CPU ms/upload` is the CPU time of the process under test (user + system, all its threads, " +
  "from `/proc/<pid>/stat` before and after each round) divided by the uploads it completed; " +
  "`CPU s/GiB` the same per GiB of payload. `client CPU` is the load generator's (the bench's " +
  "Node process, or wrk); for the direct SDK the client is the process under test itself. " +
  "`storage CPU` is the storage server's (s3rver, Azurite, the GCS test server). p50/p99 pool " +
  `every request of every round (wrk cells: the median of wrk's own per-round percentiles).`;
