/**
 * Human-friendly sizes and durations in environment variables ("25mb", "30s"). Sizes use
 * binary multiples (1mb = 1024 × 1024 bytes) like Express's body-size options do.
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Bytes for "1048576", "25mb", "1.5 GB"; undefined when the text is not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const multiplier = match && SIZE_UNITS[(match[2] ?? "").toLowerCase()];
  if (!match || multiplier === undefined || multiplier === null) return undefined;
  const bytes = Math.floor(Number(match[1]) * multiplier);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const DURATION_UNITS: Record<string, number> = {
  "": 1000,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds for "500ms", "30s", "5m", "1h"; a bare number means seconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const multiplier = match && DURATION_UNITS[(match[2] ?? "").toLowerCase()];
  if (!match || multiplier === undefined || multiplier === null) return undefined;
  const ms = Math.round(Number(match[1]) * multiplier);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** "104857600" → "100mb", for messages and the start-up log. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ["gb", 1024 ** 3],
    ["mb", 1024 ** 2],
    ["kb", 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes} bytes`;
}
