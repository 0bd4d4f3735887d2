/**
 * docker-compose.yml is for operators (no Docker engine runs here), so it is checked the way
 * the gateway would see it: every gateway service's environment, after compose's variable
 * interpolation, must be a valid configuration for the real schema.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const COMPOSE_FILE = join(ROOT, "docker-compose.yml");

/** What an operator's shell or .env would supply for `${VAR:?…}` variables. */
const OPERATOR_ENV: Record<string, string> = { AUTH_TOKENS: "compose-test-token-0123456789" };

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`. */
function interpolate(value: string, env: Record<string, string>): string {
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

function environmentOf(service: Record<string, unknown>): Record<string, string> {
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

const compose = parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }) as {
  services: Record<string, Record<string, unknown>>;
};
const gatewayServices = Object.entries(compose.services).filter(([name]) =>
  name.startsWith("gateway"),
);

describe("docker-compose.yml", () => {
  it("defines at least the fs gateway service", () => {
    expect(gatewayServices.map(([name]) => name)).toContain("gateway");
  });

  for (const [name, service] of gatewayServices) {
    it(`${name}: the environment is a valid gateway configuration`, () => {
      const env = Object.fromEntries(
        Object.entries(environmentOf(service)).map(([k, v]) => [k, interpolate(v, OPERATOR_ENV)]),
      );
      const config = loadConfig({ ...env, NODE_ENV: "production" }, "/srv");
      expect(config.authTokens).toEqual([OPERATOR_ENV.AUTH_TOKENS]);
      expect(config.provider.name).toBe(env.STORAGE_PROVIDER ?? "fs");
      expect(
        config.publicBaseUrl,
        "set PUBLIC_BASE_URL: compose services sit behind port mappings",
      ).toBeDefined();
    });

    it(`${name}: builds the gateway image and publishes its port`, () => {
      const build = service.build as { dockerfile?: string } | undefined;
      expect(build?.dockerfile ?? service.image).toBeDefined();
      if (build?.dockerfile)
        expect(readFileSync(join(ROOT, build.dockerfile), "utf8")).toMatch(/^FROM /m);
      const env = environmentOf(service);
      const port = env.PORT ?? "8080";
      expect(
        (service.ports as string[]).some((mapping) => String(mapping).endsWith(`:${port}`)),
      ).toBe(true);
    });
  }

  it("refuses to start a gateway without AUTH_TOKENS instead of running unauthenticated", () => {
    const [, service] = gatewayServices[0] ?? [];
    expect(() => interpolate(environmentOf(service ?? {}).AUTH_TOKENS ?? "", {})).toThrow(
      /AUTH_TOKENS/,
    );
  });
});
