/**
 * docker-compose.yml is for operators (no Docker engine runs here), so it is checked the way
 * the gateway would see it: every gateway service's environment, after compose's variable
 * interpolation, must be a valid configuration for the real schema. Beyond that: every
 * service the READMEs tell operators to start exists, and every gateway waits until the
 * storage service it points at is healthy (a gateway that creates its bucket at start
 * would otherwise race the emulator and fail).
 */
import { readFileSync, readdirSync } from "node:fs";
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

/** The services the READMEs and compose's own comments name: each must exist. */
const DOCUMENTED_SERVICES = [
  "gateway",
  "gateway-s3",
  "gateway-azure",
  "gateway-gcs",
  "minio",
  "azurite",
  "fake-gcs",
];

/** Every README an operator reads. */
function readmes(): string[] {
  const inside = (dir: string) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name, "README.md"));
  return ["README.md", ...inside("packages"), ...inside("apps")].filter((path) => {
    try {
      readFileSync(join(ROOT, path));
      return true;
    } catch {
      return false;
    }
  });
}

/** Services named in `docker compose up|start|run … <service>` commands in a text. */
function servicesStartedIn(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/docker compose (?:up|start|run)\b([^`)\n]*)/g)) {
    for (const word of (match[1] ?? "").trim().split(/\s+/)) {
      if (/^[a-z][a-z0-9_.-]*$/.test(word)) names.push(word);
    }
  }
  return names;
}

/** `depends_on` in either form, as service → condition. */
function dependsOn(service: Record<string, unknown>): Record<string, string> {
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

/** The compose service a gateway's storage endpoint points at, if it is one of ours. */
function storageServiceOf(env: Record<string, string>): string | undefined {
  const connection = /BlobEndpoint=([^;]+)/i.exec(env.AZURE_STORAGE_CONNECTION_STRING ?? "");
  const endpoint =
    env.S3_ENDPOINT || env.GCS_API_ENDPOINT || env.AZURE_STORAGE_ENDPOINT || connection?.[1];
  if (!endpoint) return undefined;
  const host = new URL(endpoint).hostname;
  return Object.hasOwn(compose.services, host) ? host : undefined;
}

describe("docker-compose.yml", () => {
  it("defines every service the READMEs mention", () => {
    const started = readmes().flatMap((path) =>
      servicesStartedIn(readFileSync(join(ROOT, path), "utf8")),
    );
    // The scan must find the commands it is meant to check, or it checks nothing.
    expect(started).toEqual(expect.arrayContaining(["gateway", "gateway-s3", "minio", "azurite"]));
    for (const name of new Set([...DOCUMENTED_SERVICES, ...started])) {
      expect(Object.keys(compose.services), `service ${name}`).toContain(name);
    }
  });

  it("needs no bucket-creating init service: each emulator gateway creates its own bucket", () => {
    for (const name of ["gateway-s3", "gateway-azure", "gateway-gcs"]) {
      expect(environmentOf(compose.services[name] ?? {}).STORAGE_CREATE_BUCKET, name).toBe("true");
    }
  });

  it("has a real healthcheck on every storage emulator", () => {
    for (const name of ["minio", "azurite", "fake-gcs"]) {
      const check = (compose.services[name] ?? {}).healthcheck as { test?: unknown } | undefined;
      expect(check?.test, `${name} healthcheck`).toBeDefined();
      const test = check?.test;
      const first = Array.isArray(test) ? test[0] : "CMD-SHELL";
      expect(["CMD", "CMD-SHELL"], `${name}: a command, not NONE`).toContain(first);
    }
  });

  for (const [name, service] of gatewayServices) {
    it(`${name}: the environment is a valid gateway configuration`, () => {
      const env = Object.fromEntries(
        Object.entries(environmentOf(service)).map(([k, v]) => [k, interpolate(v, OPERATOR_ENV)]),
      );
      const config = loadConfig({ ...env, NODE_ENV: "production" }, "/srv");
      expect(config.auth.tokens).toEqual([OPERATOR_ENV.AUTH_TOKENS]);
      expect(config.storage.provider.name).toBe(env.STORAGE_PROVIDER ?? "fs");
      expect(
        config.download.publicBaseUrl,
        "set PUBLIC_BASE_URL: compose services sit behind port mappings",
      ).toBeDefined();
    });

    it(`${name}: waits for the storage service it uses to be healthy`, () => {
      const env = environmentOf(service);
      const provider = env.STORAGE_PROVIDER ?? "fs";
      const storage = storageServiceOf(env);
      if (provider === "fs") {
        expect(storage).toBeUndefined();
        return;
      }
      expect(storage, `${name}: its ${provider} endpoint names a compose service`).toBeDefined();
      if (storage === undefined) return;
      expect(dependsOn(service)[storage], `${name} depends_on ${storage}`).toBe("service_healthy");
      expect(compose.services[storage]?.healthcheck, `${storage} healthcheck`).toBeDefined();
      // And comes back if the storage service restarts under it.
      expect(service.restart).toMatch(/^(always|unless-stopped|on-failure)/);
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
