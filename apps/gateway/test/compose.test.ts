/**
 * docker-compose.yml is for operators (no Docker engine runs here), so it is checked the way
 * the gateway would see it: every gateway service's environment, after compose's variable
 * interpolation, must be a valid configuration for the real schema. Beyond that: every
 * service the READMEs tell operators to start exists (with its profile enabled), and every
 * gateway waits until the storage, ledger and Redis services it points at are healthy (a
 * gateway that creates its bucket at start would otherwise race the emulator and fail).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ROOT,
  compose,
  composeDuration,
  configOf,
  dependsOn,
  environmentOf,
  gatewayServices,
  interpolate,
  interpolatedEnv,
  OPERATOR_ENV,
  replicasOf,
} from "./support/compose.ts";

/** The services the READMEs and compose's own comments name: each must exist. */
const DOCUMENTED_SERVICES = [
  "gateway",
  "gateway-s3",
  "gateway-azure",
  "gateway-gcs",
  "gateway-scaled",
  "minio",
  "azurite",
  "fake-gcs",
  "redis",
  "postgres",
  "nginx",
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

/** `docker compose [--profile p]… up|start|run … <service>` commands in a text. */
function commandsIn(text: string): { profiles: string[]; services: string[] }[] {
  const commands = [];
  const pattern = /docker compose((?:\s+--profile\s+[\w-]+)*)\s+(?:up|start|run)\b([^`)\n]*)/g;
  for (const match of text.matchAll(pattern)) {
    const profiles = [...(match[1] ?? "").matchAll(/--profile\s+([\w-]+)/g)].map((m) => m[1] ?? "");
    const services = (match[2] ?? "")
      .trim()
      .split(/\s+/)
      .filter((word) => /^[a-z][a-z0-9_.-]*$/.test(word));
    commands.push({ profiles, services });
  }
  return commands;
}

const servicesStartedIn = (text: string) => commandsIn(text).flatMap((c) => c.services);

/** A service and everything it depends on, transitively. */
function withDependencies(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dep of Object.keys(dependsOn(compose.services[name] ?? {}))) {
    withDependencies(dep, seen);
  }
  return seen;
}

/** The compose service a URL points at, if it is one of ours. */
function serviceAt(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const host = new URL(url).hostname;
  return Object.hasOwn(compose.services, host) ? host : undefined;
}

/** The compose service a gateway's storage endpoint points at, if it is one of ours. */
function storageServiceOf(env: Record<string, string>): string | undefined {
  const connection = /BlobEndpoint=([^;]+)/i.exec(env.AZURE_STORAGE_CONNECTION_STRING ?? "");
  return serviceAt(
    env.S3_ENDPOINT || env.GCS_API_ENDPOINT || env.AZURE_STORAGE_ENDPOINT || connection?.[1],
  );
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

  it("enables the profile of every service a documented command starts", () => {
    const texts = [
      readFileSync(join(ROOT, "docker-compose.yml"), "utf8"),
      ...readmes().map((path) => readFileSync(join(ROOT, path), "utf8")),
    ];
    const commands = texts.flatMap(commandsIn);
    expect(commands.some((c) => c.profiles.includes("scaled"))).toBe(true);
    for (const { profiles, services } of commands) {
      for (const name of services.flatMap((s) => [...withDependencies(s)])) {
        const needed = (compose.services[name]?.profiles as string[] | undefined) ?? [];
        if (needed.length === 0) continue;
        expect(profiles, `${services.join(" ")} starts ${name}`).toEqual(
          expect.arrayContaining([needed[0]]),
        );
      }
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
      const env = interpolatedEnv(service);
      const config = configOf(service);
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

    it(`${name}: waits for the ledger and Redis it uses to be healthy`, () => {
      const env = interpolatedEnv(service);
      for (const used of [serviceAt(env.LEDGER_URL), serviceAt(env.REDIS_URL)]) {
        if (used === undefined) continue;
        expect(dependsOn(service)[used], `${name} depends_on ${used}`).toBe("service_healthy");
        expect(compose.services[used]?.healthcheck, `${used} healthcheck`).toBeDefined();
      }
    });

    it(`${name}: gives in-flight uploads SHUTDOWN_TIMEOUT before the container is killed`, () => {
      // Compose's default is 10s; past it the engine sends SIGKILL mid-upload.
      const grace = composeDuration(String(service.stop_grace_period ?? "10s"));
      expect(grace).toBeGreaterThan(configOf(service).server.shutdownTimeoutMs);
    });

    it(`${name}: builds the gateway image and publishes its port`, () => {
      const build = service.build as { dockerfile?: string } | undefined;
      expect(build?.dockerfile ?? service.image).toBeDefined();
      if (build?.dockerfile)
        expect(readFileSync(join(ROOT, build.dockerfile), "utf8")).toMatch(/^FROM /m);
      if (replicasOf(service) > 1) {
        // Replicas cannot share a host port: they are reached through the nginx service
        // (compose-scaled.test.ts checks its upstream).
        expect(service.ports).toBeUndefined();
        expect(dependsOn(compose.services.nginx ?? {})[name]).toBe("service_healthy");
        return;
      }
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
