/** Sizes in this benchmark are binary: "1 MiB" is 2^20 bytes, throughput is MiB/s. */
export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;

/** Parses "16k", "1m", "512MiB", "1g" or a byte count. */
export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a size (try 16k, 1m, 512m).`);
  const unit = (match[2] ?? "b").toLowerCase()[0];
  const scale = unit === "k" ? KiB : unit === "m" ? MiB : unit === "g" ? GiB : 1;
  return Math.round(Number(match[1]) * scale);
}

export function formatSize(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

export function toMiB(bytes: number): number {
  return bytes / MiB;
}

/** A number with about three significant digits, for tables. */
export function fmt(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 10 ** digits) return Math.round(value).toString();
  return Number(value.toPrecision(digits)).toString();
}

/** The short token a size goes by in cell names and filters: "16k", "1m", "512m", "1g". */
export function sizeToken(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB}g`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}m`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB}k`;
  return String(bytes);
}

/** "1190 (1100–1250)": a median with the spread of the rounds it came from. */
export function fmtSpread(
  spread: { median: number; min: number; max: number } | undefined,
  digits = 3,
): string {
  if (!spread) return "–";
  if (spread.min === spread.max) return fmt(spread.median, digits);
  return `${fmt(spread.median, digits)} (${fmt(spread.min, digits)}–${fmt(spread.max, digits)})`;
}
