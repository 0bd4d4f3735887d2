const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * Parses "90", "90s", "15m", "24h", "7d" or "2w" into whole seconds. Returns undefined for
 * anything else, so callers can name the bad input in their own words.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+)\s*([smhdw]?)\s*$/i.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * (UNIT_SECONDS[(match[2] || "s").toLowerCase()] ?? NaN);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}
