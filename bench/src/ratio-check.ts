/** One target's check: a ratio of two cells' medians against a bound. */
import { roundSeries, spreadOf, type CellResult, type Metric } from "./results.ts";
import { fmt } from "./units.ts";

export interface TargetCheck {
  /** What is compared, in words. */
  name: string;
  status: "PASS" | "FAIL" | "N/A";
  /** The measured figure against the target, e.g. "0.93× (… ; target ≥ 0.8×)". */
  figure: string;
  /** Why a check could not be judged, or what explains a miss. */
  note?: string;
}

const UNITS: Partial<Record<Metric, string>> = {
  mibPerSec: "MiB/s",
  requestsPerSec: "uploads/s",
  cpuMsPerRequest: "ms CPU per upload",
};

/**
 * `a ÷ b` on the median of each side's rounds, judged against `bound` (`≥` for throughput,
 * `≤` for CPU). The rounds were measured in turn, so the ratio of each round pair is given
 * as the spread.
 */
export function ratioCheck(
  name: string,
  a: CellResult | undefined,
  b: CellResult | undefined,
  metric: Metric,
  bound: { atLeast: number } | { atMost: number },
): TargetCheck {
  const target = "atLeast" in bound ? `≥ ${bound.atLeast}×` : `≤ ${bound.atMost}×`;
  const sa = spreadOf(a, metric);
  const sb = spreadOf(b, metric);
  if (!sa || !sb || sb.median <= 0) {
    const bad = [a, b].find((c) => c !== undefined && c.status !== "ok");
    const note = bad
      ? `${bad.system} ${bad.status}${bad.note ? `: ${bad.note}` : ""}`
      : "not measured";
    return { name, status: "N/A", figure: `target ${target}`, note };
  }
  const ratio = sa.median / sb.median;
  const pass = "atLeast" in bound ? ratio >= bound.atLeast : ratio <= bound.atMost;
  const ra = roundSeries(a, metric);
  const rb = roundSeries(b, metric);
  const paired = ra.map((x, i) => x / (rb[i] ?? Number.NaN)).filter((x) => Number.isFinite(x));
  const spread =
    paired.length > 1
      ? `; rounds ${fmt(Math.min(...paired), 2)}–${fmt(Math.max(...paired), 2)}×`
      : "";
  return {
    name,
    status: pass ? "PASS" : "FAIL",
    figure: `${fmt(ratio)}× (${fmt(sa.median)} vs ${fmt(sb.median)} ${UNITS[metric] ?? ""}${spread}; target ${target})`,
  };
}

/** The bare ratio of a check's figure ("0.93×"). */
export const ratioOf = (check: TargetCheck): string => check.figure.split(" (")[0] ?? check.figure;

/**
 * Where a small-file bar is missed, whose share it is: the same busboy server storing
 * through the fs adapter (no gateway) tells the adapter's cost from the gateway's.
 */
export function explainGap(
  check: TargetCheck,
  gateway: CellResult | undefined,
  reference: CellResult | undefined,
  adapter: CellResult | undefined,
): void {
  if (check.status !== "FAIL") return;
  const alone = ratioCheck("", adapter, reference, "requestsPerSec", { atLeast: 0 });
  const layer = ratioCheck("", gateway, adapter, "requestsPerSec", { atLeast: 0 });
  if (alone.status === "N/A" || layer.status === "N/A") return;
  check.note =
    `the fs adapter alone behind the same busboy server reaches ${ratioOf(alone)} ` +
    `the reference; the gateway reaches ${ratioOf(layer)} that server`;
}
