import type { BackendName } from "./backend.ts";
import { findCell, SYSTEM_LABELS, type BenchResults, type SystemKind } from "./results.ts";
import { formatSize } from "./units.ts";

interface Series {
  system: SystemKind;
  color: string;
  width: number;
  dash?: string;
}

/** Backend systems first, then the references drawn in grey behind them. */
const SERIES: Series[] = [
  { system: "drain", color: "#b8b8b8", width: 1.5, dash: "2 3" },
  { system: "busboy", color: "#888888", width: 1.5, dash: "6 3" },
  { system: "durableBusboy", color: "#7a5aa6", width: 1.5, dash: "6 2 2 2" },
  { system: "naive", color: "#d9822b", width: 2, dash: "4 2" },
  { system: "multerDisk", color: "#c9a227", width: 2, dash: "3 2" },
  { system: "multerS3", color: "#b04a8a", width: 2, dash: "3 2" },
  { system: "direct", color: "#2b7bd9", width: 2 },
  { system: "unsyncedGateway", color: "#7fcf9a", width: 2, dash: "5 2" },
  { system: "gateway", color: "#1a9e4b", width: 3 },
];

const FS_REFERENCES: readonly SystemKind[] = ["drain", "busboy", "durableBusboy"];

const PANEL_W = 230;
const PANEL_H = 170;
const GAP_X = 60;
const GAP_Y = 70;
const LEFT = 70;
/** Rough width of one character at the legend's font size, for laying the legend out. */
const CHAR_W = 6.2;

const escape = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/**
 * Upload throughput against file size: one panel per backend (columns) and concurrency
 * (rows), log-log, with the backend-independent references repeated in every panel.
 */
export function renderChart(results: BenchResults): string {
  const backends = results.backends as BackendName[];
  const sizes = results.sizes;
  const rates = results.cells
    .filter((c) => c.operation === "upload" && c.status === "ok" && c.mibPerSec)
    .map((c) => c.mibPerSec as number);
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...rates, 1))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...rates, 10)));
  const cols = Math.max(1, backends.length);
  const rows = results.concurrencies.length;
  const width = LEFT + cols * PANEL_W + (cols - 1) * GAP_X + 30;

  // The legend wraps onto as many lines as the chart's width needs; panels start below it.
  const legend: string[] = [];
  let lx = LEFT;
  let ly = 48;
  for (const s of SERIES.slice().reverse()) {
    const label = SYSTEM_LABELS[s.system];
    const itemWidth = 26 + 8 + label.length * CHAR_W + 28;
    if (lx > LEFT && lx + itemWidth > width - 20) {
      lx = LEFT;
      ly += 20;
    }
    legend.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
      `<text x="${lx + 34}" y="${ly + 4}">${escape(label)}</text>`,
    );
    lx += itemWidth;
  }
  const TOP = ly + 45;
  const height = TOP + rows * PANEL_H + (rows - 1) * GAP_Y + 60;

  const x = (i: number) => (sizes.length === 1 ? PANEL_W / 2 : (i / (sizes.length - 1)) * PANEL_W);
  const y = (v: number) =>
    PANEL_H - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL_H;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, 'DejaVu Sans', sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">Upload throughput (MiB/s, log scale) against file size</text>`,
  ];
  parts.push(...legend);

  results.concurrencies.forEach((concurrency, row) => {
    backends.forEach((backend, col) => {
      const ox = LEFT + col * (PANEL_W + GAP_X);
      const oy = TOP + row * (PANEL_H + GAP_Y);
      parts.push(`<g transform="translate(${ox},${oy})">`);
      parts.push(
        `<text x="${PANEL_W / 2}" y="-10" text-anchor="middle" font-weight="bold">${backend}, concurrency ${concurrency}</text>`,
        `<rect width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#cccccc"/>`,
      );
      for (let decade = lo; decade <= hi; decade *= 10) {
        const gy = y(decade).toFixed(1);
        parts.push(
          `<line x1="0" y1="${gy}" x2="${PANEL_W}" y2="${gy}" stroke="#eeeeee"/>`,
          `<text x="-6" y="${gy}" text-anchor="end" dominant-baseline="middle" fill="#555">${decade}</text>`,
        );
      }
      sizes.forEach((size, i) => {
        parts.push(
          `<text x="${x(i).toFixed(1)}" y="${PANEL_H + 16}" text-anchor="middle" fill="#555">${formatSize(size)}</text>`,
        );
      });
      for (const s of SERIES) {
        const points = sizes
          .map((size, i) => {
            const cell = findCell(results.cells, {
              system: s.system,
              // The disk references run on fs; every panel repeats them for scale.
              backend: FS_REFERENCES.includes(s.system) ? "fs" : backend,
              operation: "upload",
              size,
              concurrency,
            });
            return cell?.status === "ok" && cell.mibPerSec
              ? `${x(i).toFixed(1)},${y(cell.mibPerSec).toFixed(1)}`
              : undefined;
          })
          .filter((p): p is string => p !== undefined);
        if (points.length === 0) continue;
        const style = `stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}`;
        parts.push(`<polyline fill="none" ${style} points="${points.join(" ")}"/>`);
        for (const p of points) {
          const [px, py] = p.split(",");
          parts.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${s.color}"/>`);
        }
      }
      parts.push(`</g>`);
    });
  });
  parts.push(
    `<text x="${LEFT}" y="${height - 16}" fill="#555">${escape(
      `${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node}; ${results.mode} run, ${results.finishedAt.slice(0, 10)}`,
    )}</text>`,
    `</svg>`,
  );
  return `${parts.join("\n")}\n`;
}
