import { parseArgs } from "node:util";
import { BACKENDS, isBackendName, type BackendName } from "./backend.ts";
import { FULL_PLAN, QUICK_PLAN, type BenchPlan } from "./plan.ts";
import { parseSize } from "./units.ts";

export interface BenchOptions {
  plan: BenchPlan;
  /** Whether the plan is the complete, unfiltered one whose results belong in bench/. */
  complete: boolean;
  /** Where RESULTS.md and the chart go; undefined means the default for the run's kind. */
  outDir: string | undefined;
  profile: boolean;
  /** A saved run's folder to write the report of again, from its results.json; no measuring. */
  rerender: string | undefined;
  /** Extra environment for every gateway, from `--gateway-env NAME=value`. */
  gatewayEnv: Record<string, string>;
}

export const USAGE = `npm run bench [-- options]

  --quick                 smaller sizes, one short round per cell (under two minutes)
  --backends fs,s3,...    only these backends (${BACKENDS.join(", ")})
  --sizes 16k,1m,...      only these file sizes
  --concurrency 1,16      only these concurrency levels
  --no-downloads          skip the download comparisons
  --profile               run the gateway with --cpu-prof (profiles under bench/results/)
  --gateway-env NAME=VAL  extra environment for the gateway, repeatable: try a tuning
                          (S3_PART_SIZE=5mb, NODE_OPTIONS=--max-semi-space-size=1, …)
  --out DIR               write RESULTS.md and throughput.svg to DIR
  --rerender RUN_DIR      measure nothing: judge the targets and write the report again
                          from RUN_DIR/results.json (into RUN_DIR, or --out), as after a
                          change to the report or the targets' reading
  --help                  this text

A full, unfiltered run writes bench/RESULTS.md and bench/throughput.svg; any other run
writes its report under bench/results/ (not committed) unless --out says otherwise.`;

const list = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function parseOptions(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      backends: { type: "string" },
      sizes: { type: "string" },
      concurrency: { type: "string" },
      "no-downloads": { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      "gateway-env": { type: "string", multiple: true },
      out: { type: "string" },
      rerender: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const base = values.quick ? QUICK_PLAN : FULL_PLAN;
  const plan: BenchPlan = { ...base, backends: [...base.backends] };
  if (values.backends) {
    const names = list(values.backends);
    const unknown = names.filter((n) => !isBackendName(n));
    if (unknown.length > 0) {
      throw new Error(`unknown backend ${unknown.join(", ")}; choose from ${BACKENDS.join(", ")}`);
    }
    plan.backends = BACKENDS.filter((b) => names.includes(b)) as BackendName[];
  }
  if (values.sizes)
    plan.sizes = list(values.sizes)
      .map(parseSize)
      .sort((a, b) => a - b);
  if (values.concurrency) {
    plan.concurrencies = list(values.concurrency).map((c) => {
      const n = Number(c);
      if (!Number.isInteger(n) || n < 1) throw new Error(`"${c}" is not a concurrency level`);
      return n;
    });
  }
  if (values["no-downloads"]) plan.downloads = false;
  const gatewayEnv: Record<string, string> = {};
  for (const pair of values["gateway-env"] ?? []) {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--gateway-env wants NAME=value, got "${pair}"`);
    gatewayEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  // A tuned gateway is an experiment, not the project's published figures.
  const complete =
    Object.keys(gatewayEnv).length === 0 &&
    !values.quick &&
    !values.backends &&
    !values.sizes &&
    !values.concurrency &&
    !values["no-downloads"];
  return {
    plan,
    complete,
    outDir: values.out,
    profile: values.profile,
    rerender: values.rerender,
    gatewayEnv,
  };
}
