import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gatewayEnvSchema, providers } from "@mediagate/gateway";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IContainer } from "kubernetes-models/v1/Container";
import { one, type K8sObject } from "./kustomize.ts";

/** What the manifests are checked against: the gateway's own schema, image and benchmark. */

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Every variable the gateway's configuration schema reads: its own and each backend's. */
export function knownVariables(): Set<string> {
  const names = Object.keys(providers) as [string, ...string[]];
  const shapes = [
    gatewayEnvSchema(names).shape,
    ...Object.values(providers).map((p) => (p?.env as { shape?: object } | undefined)?.shape ?? {}),
  ];
  return new Set(shapes.flatMap((shape) => Object.keys(shape)));
}

/**
 * Variables the manifests set for features other parts of the work add to the gateway, and
 * the issue that adds each. Until then the gateway ignores them; remove an entry once the
 * schema knows the variable (the check then covers it like any other).
 */
export const NOT_YET_IN_SCHEMA: Readonly<Record<string, string>> = {
  METRICS_PORT: "issue 17 part 1: Prometheus metrics on their own port",
  ADMIN_TOKENS: "issue 15 part 3: the admin API",
  LEDGER_URL: "issue 15 part 1: the PostgreSQL ledger",
  LEDGER_PATH: "issue 15 part 1: the SQLite ledger's file",
  ENCRYPTION_KEYS: "issue 16 part 1: encryption at rest",
};

/** The container named gateway in the Deployment. */
export function gatewayContainer(objects: K8sObject[]): IContainer {
  const deployment = one<IDeployment>(objects, "Deployment", "mediagate");
  const containers = deployment.spec?.template.spec?.containers ?? [];
  const container = containers.find((c) => c.name === "gateway");
  if (!container) throw new Error("the Deployment has no container named gateway");
  return container;
}

/** The container port a probe's or Service's port (a number or a port name) reaches. */
export function containerPort(container: IContainer, port: string | number | undefined) {
  if (typeof port === "number") return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** The Secret's keys with their (template) values, from `stringData` or base64 `data`. */
export function secretValues(secret: K8sObject): Record<string, string> {
  const data = (secret.data ?? {}) as Record<string, string>;
  return {
    ...Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    ),
    ...((secret.stringData ?? {}) as Record<string, string>),
  };
}

/**
 * The environment the gateway process gets, as the kubelet assembles it: envFrom sources in
 * order, then `env` entries; `secrets` stands in for values a secret manager supplies.
 */
export function containerEnv(
  objects: K8sObject[],
  secrets: Record<string, string> = {},
): Record<string, string> {
  const container = gatewayContainer(objects);
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      Object.assign(env, one(objects, "ConfigMap", source.configMapRef.name ?? "").data);
    }
    if (source.secretRef) {
      const name = source.secretRef.name ?? "";
      const template = objects.find((o) => o.kind === "Secret" && o.metadata.name === name);
      Object.assign(env, template ? secretValues(template) : {}, secrets);
    }
  }
  for (const entry of container.env ?? []) env[entry.name] = entry.value ?? "";
  return env;
}

/** The image's CMD, which the Deployment's command must repeat. */
export function dockerfileCommand(): string[] {
  const dockerfile = readFileSync(join(REPO_ROOT, "apps/gateway/Dockerfile"), "utf8");
  const match = /^CMD (\[.*\])\s*$/m.exec(dockerfile);
  if (!match?.[1]) throw new Error("apps/gateway/Dockerfile has no exec-form CMD");
  return JSON.parse(match[1]) as string[];
}

export function gatewayVersion(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "apps/gateway/package.json"), "utf8"));
  return (pkg as { version: string }).version;
}

/**
 * The highest peak RSS of the gateway in any cell of the last full benchmark run (tables with
 * a "peak RSS MiB" column, rows of "mediagate gateway …").
 */
export function benchmarkPeakRssMiB(): { mib: number; row: string } {
  const text = readFileSync(join(REPO_ROOT, "bench/RESULTS.md"), "utf8");
  let header: string[] | undefined;
  let heading = "";
  let peak = { mib: 0, row: "" };
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) heading = line.replace(/^#+\s*/, "");
    if (!line.startsWith("|")) {
      header = undefined;
      continue;
    }
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (!header) {
      header = cells;
      continue;
    }
    const [system, rss, conc] = ["system", "peak RSS MiB", "conc."].map((h) => header?.indexOf(h));
    if (system === undefined || rss === undefined || system < 0 || rss < 0) continue;
    if (!cells[system]?.includes("mediagate gateway")) continue;
    const mib = Number(cells[rss]);
    if (Number.isFinite(mib) && mib > peak.mib) {
      const concurrency = conc !== undefined && conc >= 0 ? ` ×${cells[conc]}` : "";
      peak = { mib, row: `${heading}: ${cells[system]}${concurrency}` };
    }
  }
  if (peak.mib === 0) throw new Error("bench/RESULTS.md has no gateway row with a peak RSS");
  return peak;
}

const QUANTITY_UNITS: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

/** A Kubernetes quantity ("500m", "256Mi", "2Gi") as a number (cores, bytes). */
export function quantity(value: string | number): number {
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(String(value));
  const unit = match ? QUANTITY_UNITS[match[2] ?? ""] : undefined;
  if (!match || unit === undefined) throw new Error(`unsupported quantity ${value}`);
  return Number(match[1]) * unit;
}
