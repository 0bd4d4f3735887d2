import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { loadConfig, type GatewayConfig } from "../../src/config/load.ts";

/** docker-compose.yml as compose reads it (YAML merge keys resolved), and ways to read it. */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../../..");
const COMPOSE_FILE = join(ROOT, "docker-compose.yml");

export type Service = Record<string, unknown>;

export const compose = parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};

/** Every service whose name starts with `gateway`: each is checked against the schema. */
export const gatewayServices = Object.entries(compose.services).filter(([name]) =>
  name.startsWith("gateway"),
);

/** What an operator's shell or .env would supply for `${VAR:?…}` variables. */
export const OPERATOR_ENV: Record<string, string> = {
  AUTH_TOKENS: "compose-test-token-0123456789",
};

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`. */
export function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (match, name?: string, op?: string, arg?: string) => {
      if (match === "$$") return "$";
      const set = name !== undefined && env[name] !== undefined;
      const value = name !== undefined ? env[name] : undefined;
      if (op === ":-") return value ? value : (arg ?? "");
      if (op === "-") return set ? (value ?? "") : (arg ?? "");
      if (op === ":?" || op === "?") {
        if (!value) throw new Error(`compose would stop: ${name} ${arg}`);
        return value;
      }
      return value ?? "";
    },
  );
}

export function environmentOf(service: Service): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: string) => {
        const at = entry.indexOf("=");
        return at < 0 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries((env ?? {}) as Record<string, unknown>).map(([k, v]) => [
      k,
      v == null ? "" : String(v),
    ]),
  );
}

/** A gateway service's environment after interpolation, as the container would get it. */
export function interpolatedEnv(service: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environmentOf(service)).map(([k, v]) => [k, interpolate(v, OPERATOR_ENV)]),
  );
}

/** The configuration a gateway service's container would run with (the image's NODE_ENV). */
export function configOf(service: Service): GatewayConfig {
  return loadConfig({ ...interpolatedEnv(service), NODE_ENV: "production" }, "/srv");
}

/** `depends_on` in either form, as service → condition. */
export function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on;
  if (deps === undefined) return {};
  if (Array.isArray(deps)) {
    return Object.fromEntries(deps.map((name: string) => [name, "service_started"]));
  }
  return Object.fromEntries(
    Object.entries(deps as Record<string, { condition?: string } | null>).map(([name, dep]) => [
      name,
      dep?.condition ?? "service_started",
    ]),
  );
}

/** How many containers compose runs for a service (`deploy.replicas`, else one). */
export function replicasOf(service: Service): number {
  const deploy = service.deploy as { replicas?: number } | undefined;
  return deploy?.replicas ?? 1;
}

/** A duration as compose writes it (`40s`, `1m30s`, `500ms`), in milliseconds. */
export function composeDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * (units[unit ?? "s"] ?? 0);
  }
  return total;
}
