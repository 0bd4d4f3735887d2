/**
 * docker-compose's `scaled` profile: several gateway replicas behind nginx. No Docker engine
 * runs here, so it is checked the way its parts would see it: the replicas' configuration
 * shares what several instances must share, nginx's configuration names them, mounts what
 * it includes and is accepted by a real nginx, and its limits and timeouts sit above the
 * gateways' own. The proxy settings themselves are exercised in scale-out.test.ts.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  ROOT,
  compose,
  configOf,
  dependsOn,
  environmentOf,
  replicasOf,
  type Service,
} from "./support/compose.ts";
import { PROXY_CONF_DIR } from "./support/nginx.ts";

const run = promisify(execFile);
const NGINX_CONF = readFileSync(join(PROXY_CONF_DIR, "nginx.conf"), "utf8");
const PROXY_CONF = readFileSync(join(PROXY_CONF_DIR, "mediagate-proxy.conf"), "utf8");

const scaled = Object.entries(compose.services).filter(
  ([name, service]) => name.startsWith("gateway") && replicasOf(service) > 1,
);
const nginx = compose.services.nginx ?? {};

/** The value of a directive (`client_max_body_size 110m;` → `110m`), the first one. */
function directive(conf: string, name: string): string | undefined {
  return new RegExp(`^\\s*${name}\\s+([^;]*);`, "m").exec(conf)?.[1]?.trim();
}

/** nginx sizes (`110m`) in bytes, and times (`90s`, `1m`) in milliseconds. */
const nginxSize = (text = "") =>
  Number.parseFloat(text) * ({ k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[text.slice(-1)] ?? 1);
const nginxTime = (text = "") =>
  Number.parseFloat(text) * ({ s: 1000, m: 60_000, h: 3_600_000 }[text.slice(-1)] ?? 1000);

/** `host:port` mappings of a service, as [host port, container port]. */
function published(service: Service): [string, string][] {
  return ((service.ports as string[] | undefined) ?? []).map((mapping) => {
    const parts = String(mapping).split(":");
    return [parts.at(-2) ?? "", parts.at(-1) ?? ""];
  });
}

describe("docker-compose.yml, the scaled profile", () => {
  it("runs several gateway replicas, all in the profile with nginx, PostgreSQL and Redis", () => {
    expect(scaled.map(([name]) => name)).toEqual(["gateway-scaled"]);
    for (const name of ["gateway-scaled", "nginx", "postgres"]) {
      expect(compose.services[name]?.profiles, name).toEqual(["scaled"]);
    }
  });

  for (const [name, service] of scaled) {
    it(`${name}: the replicas share storage, ledger and Redis, and nothing local`, () => {
      const config = configOf(service);
      const env = environmentOf(service);
      expect(config.storage.provider.name, "a store every replica reaches").not.toBe("fs");
      expect(config.custody.ledger?.kind).toBe("postgres");
      expect(new URL(env.LEDGER_URL ?? "").hostname).toBe("postgres");
      expect(new URL(config.limits.redisUrl ?? "").hostname).toBe("redis");
      // The spool of an upload in flight is the one thing each keeps to itself.
      expect(service.volumes, "no shared volume (SPOOL_DIR stays per container)").toBeUndefined();
    });

    it(`${name}: trusts exactly one proxy hop, and names nginx's address in download URLs`, () => {
      const config = configOf(service);
      // `true` would trust the leftmost X-Forwarded-For entry, which the client writes.
      expect(config.server.trustProxy).toBe(1);
      const [hostPort] = published(nginx).find(([, inner]) => inner === "8080") ?? [];
      expect(new URL(config.download.publicBaseUrl ?? "").port).toBe(hostPort);
    });

    it(`${name}: is ready before nginx starts, and nginx's upstream follows its replicas`, () => {
      expect(dependsOn(nginx)[name]).toBe("service_healthy");
      const test = JSON.stringify((service.healthcheck as { test?: unknown } | undefined)?.test);
      expect(test, "healthy means ready").toContain("/readyz");
      const server = /upstream mediagate \{[^}]*?^\s*server\s+([^\s;]+)\s*([^;]*);/m.exec(
        NGINX_CONF,
      );
      expect(server?.[1]).toBe(`${name}:${environmentOf(service).PORT ?? "8080"}`);
      // Replicas restart with new addresses: re-resolved, through Docker's DNS.
      expect(server?.[2]?.split(/\s+/)).toContain("resolve");
      expect(directive(NGINX_CONF, "resolver")).toMatch(/^127\.0\.0\.11\b/);
    });

    it(`${name}: nginx's limits and timeouts sit above the gateway's own`, () => {
      const config = configOf(service);
      // The gateway refuses an oversized file itself, in JSON, with room for the form.
      expect(nginxSize(directive(PROXY_CONF, "client_max_body_size"))).toBeGreaterThan(
        config.upload.maxFileSize + 64 * 1024,
      );
      for (const timeout of ["proxy_read_timeout", "proxy_send_timeout"]) {
        expect(nginxTime(directive(PROXY_CONF, timeout)), timeout).toBeGreaterThan(
          config.upload.storageTimeoutMs,
        );
      }
    });
  }

  it("streams uploads and never re-sends one to a second gateway", () => {
    expect(directive(PROXY_CONF, "proxy_request_buffering")).toBe("off");
    expect(directive(PROXY_CONF, "proxy_http_version")).toBe("1.1");
    expect(directive(PROXY_CONF, "proxy_next_upstream")).not.toMatch(/non_idempotent/);
    // Kept-alive upstream connections turn a draining gateway's closes into 502s (see the file).
    expect(NGINX_CONF).not.toMatch(/^\s*keepalive\b/m);
  });

  it("mounts nginx.conf and every file it includes, from deploy/compose", () => {
    const mounts = new Map(
      ((nginx.volumes as string[] | undefined) ?? []).map((volume) => {
        const [source = "", target = ""] = String(volume).split(":");
        return [target, source];
      }),
    );
    expect(mounts.get("/etc/nginx/nginx.conf")).toBe("./deploy/compose/nginx.conf");
    const includes = [...NGINX_CONF.matchAll(/^\s*include\s+([^;]+);/gm)].map((m) => m[1] ?? "");
    expect(includes).toContain("/etc/nginx/mediagate-proxy.conf");
    for (const path of includes) {
      const source = mounts.get(path);
      expect(source, `${path} is mounted`).toBe(`./deploy/compose/${basename(path)}`);
      expect(existsSync(join(ROOT, source ?? "")), `${source} exists`).toBe(true);
    }
    const listen = directive(NGINX_CONF, "listen");
    expect(published(nginx).some(([, inner]) => inner === listen)).toBe(true);
  });

  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it("is a configuration nginx accepts", async () => {
    // Debian's nginx 1.22 here: `resolve` (1.27.3+) is dropped, the service name pointed at
    // loopback and the image's paths at a temp folder; nothing else differs.
    const dir = await mkdtemp(join(tmpdir(), "mediagate-nginx-t-"));
    dirs.push(dir);
    const conf = NGINX_CONF.replace(/\s+resolve\b/g, "")
      .replace(/gateway-scaled:/g, "127.0.0.1:")
      .replaceAll("/etc/nginx/", `${PROXY_CONF_DIR}/`)
      .replaceAll("/var/log/nginx/", `${dir}/`);
    await writeFile(join(dir, "nginx.conf"), `pid ${dir}/nginx.pid;\n${conf}`);
    const { stderr } = await run("/usr/sbin/nginx", [
      "-t",
      "-p",
      dir,
      "-c",
      join(dir, "nginx.conf"),
      "-e",
      join(dir, "error.log"),
    ]);
    expect(stderr).toMatch(/test is successful/);
  });
});
