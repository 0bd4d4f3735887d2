/** The markdown tables the privacy benchmark prints: medians with their range, and the ratio. */
import { median } from "../stats.ts";
import { fmt, fmtSpread } from "../units.ts";

export interface Row {
  measure: string;
  /** One value per round, for the configuration without the feature and with it. */
  without: number[];
  with: number[];
}

function spread(
  values: readonly number[],
): { median: number; min: number; max: number } | undefined {
  const finite = values.filter((v) => Number.isFinite(v));
  const mid = median(finite);
  if (mid === undefined) return undefined;
  return { median: mid, min: Math.min(...finite), max: Math.max(...finite) };
}

/** A table of rows; the last column is the ratio of the two medians (with ÷ without). */
export function renderTable(
  columns: { without: string; with: string; ratio: string },
  rows: Row[],
): string {
  const lines = [
    `| measure | ${columns.without} | ${columns.with} | ${columns.ratio} |`,
    "| --- | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    const a = spread(row.without);
    const b = spread(row.with);
    const ratio = a && b && a.median !== 0 ? `${fmt(b.median / a.median)}×` : "–";
    lines.push(`| ${row.measure} | ${fmtSpread(a)} | ${fmtSpread(b)} | ${ratio} |`);
  }
  return lines.join("\n");
}

/** Turns per-round records into one column of values per field. */
export function column<T, K extends keyof T>(records: readonly T[], key: K): number[] {
  return records.map((r) => Number(r[key]));
}
