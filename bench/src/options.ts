import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { BACKENDS, isBackendName, type BackendName } from "./backend.ts";
import { FULL_PLAN, QUICK_PLAN, type BenchPlan } from "./plan.ts";
import { SYSTEM_LABELS, type SystemKind } from "./results.ts";
import { parseSize } from "./units.ts";

export type LoadGeneratorChoice = "auto" | "node" | "wrk";

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
  /** Another build of apps/gateway to measure (its folder), instead of the workspace's. */
  gatewayDir: string | undefined;
  /** Group name patterns (`fs/upload/16k`, `*\/mix`); undefined runs every group. */
  cells: string | undefined;
  /** Only these systems (the gateway's cells always need their references to be judged). */
  systems: SystemKind[] | undefined;
  loadGenerator: LoadGeneratorChoice;
  pin: boolean;
}

export const USAGE = `npm run bench [-- options]

  --quick                 smaller sizes, short rounds (a few minutes)
  --cells PATTERN,...     only these groups, named backend/kind/size/xconcurrency:
                          fs/upload/16k (both concurrencies), fs/upload/16k/x16, s3/mix,
                          */download/1m, gcs/memory, azure (all of it); * is a wildcard
  --systems a,b,...       only these systems (${Object.keys(SYSTEM_LABELS).join(", ")})
  --backends fs,s3,...    only these backends (${BACKENDS.join(", ")})
  --sizes 16k,1m,...      only these file sizes
  --concurrency 1,16      only these concurrency levels
  --rounds N              rounds per cell (at least 3; default 3)
  --no-downloads          skip the download comparisons
  --load-generator KIND   auto (wrk for uploads under 1 MiB, else the Node client), node
                          (the Node client for all), wrk (wrk for uploads up to 8 MiB)
  --pin                   run wrk on core 1 and the server under test on core 0 (wrk cells)
  --profile               run the gateway with --cpu-prof (profiles under bench/results/)
  --gateway-env NAME=VAL  extra environment for the gateway, repeatable: try a tuning
                          (S3_PART_SIZE=5mb, NODE_OPTIONS=--max-semi-space-size=1, …)
  --gateway-dir DIR       measure the compiled gateway in DIR (an apps/gateway folder of
                          another checkout, built) instead of this workspace's
  --out DIR               write RESULTS.md and throughput.svg to DIR
  --rerender RUN_DIR      measure nothing: judge the targets and write the report again
                          from RUN_DIR/results.json (into RUN_DIR, or --out)
  --help                  this text

A full, unfiltered run writes bench/RESULTS.md and bench/throughput.svg; any other run
writes its report under bench/results/ (not committed) unless --out says otherwise.`;

const list = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const isSystem = (name: string): name is SystemKind => name in SYSTEM_LABELS;

export function parseOptions(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      cells: { type: "string" },
      systems: { type: "string" },
      backends: { type: "string" },
      sizes: { type: "string" },
      concurrency: { type: "string" },
      rounds: { type: "string" },
      "no-downloads": { type: "boolean", default: false },
      "load-generator": { type: "string", default: "auto" },
      pin: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      "gateway-env": { type: "string", multiple: true },
      "gateway-dir": { type: "string" },
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
  if (values.rounds !== undefined) {
    const n = Number(values.rounds);
    if (!Number.isInteger(n) || n < 3) throw new Error("--rounds wants a whole number, 3 or more");
    plan.rounds = n;
  }
  if (values["no-downloads"]) plan.downloads = false;
  let systems: SystemKind[] | undefined;
  if (values.systems) {
    const names = list(values.systems);
    const unknown = names.filter((n) => !isSystem(n));
    if (unknown.length > 0) throw new Error(`unknown system ${unknown.join(", ")}`);
    systems = names as SystemKind[];
  }
  const loadGenerator = values["load-generator"] as LoadGeneratorChoice;
  if (!["auto", "node", "wrk"].includes(loadGenerator)) {
    throw new Error(`--load-generator is auto, node or wrk, not "${loadGenerator}"`);
  }
  const gatewayEnv: Record<string, string> = {};
  for (const pair of values["gateway-env"] ?? []) {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--gateway-env wants NAME=value, got "${pair}"`);
    gatewayEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  // A tuned or filtered run is an experiment, not the project's published figures.
  const complete =
    Object.keys(gatewayEnv).length === 0 &&
    !values.quick &&
    !values.cells &&
    !values.systems &&
    !values.backends &&
    !values.sizes &&
    !values.concurrency &&
    values.rounds === undefined &&
    !values["no-downloads"] &&
    loadGenerator === "auto" &&
    !values["gateway-dir"];
  return {
    plan,
    complete,
    outDir: values.out,
    profile: values.profile,
    rerender: values.rerender,
    gatewayEnv,
    // npm runs the script in bench/; a relative folder means one relative to where it was typed.
    gatewayDir: values["gateway-dir"]
      ? resolve(process.env.INIT_CWD ?? process.cwd(), values["gateway-dir"])
      : undefined,
    cells: values.cells,
    systems,
    loadGenerator,
    pin: values.pin,
  };
}
