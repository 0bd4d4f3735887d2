import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@mediagate/test-servers";
import { send } from "./http.ts";

/** The proxy settings docker-compose's `scaled` profile ships: the test runs these files. */
export const PROXY_CONF_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../deploy/compose",
);

const NGINX = process.env.NGINX_BIN ?? "/usr/sbin/nginx";

/**
 * The parameters compose's nginx.conf gives its upstream server (`max_fails=…
 * fail_timeout=…`), less `resolve`, which names in DNS need and loopback ports do not.
 */
async function upstreamParameters(): Promise<string> {
  const conf = await readFile(join(PROXY_CONF_DIR, "nginx.conf"), "utf8");
  const line = /upstream mediagate \{[^}]*?^\s*server\s+\S+\s+([^;]*);/ms.exec(conf)?.[1];
  if (line === undefined) throw new Error("no upstream server line in deploy/compose/nginx.conf");
  return line
    .split(/\s+/)
    .filter((word) => word !== "resolve")
    .join(" ");
}

export interface AccessLine {
  method: string;
  path: string;
  status: number;
  /** Every gateway nginx tried, in order (`127.0.0.1:1234`), none when it answered itself. */
  upstreams: string[];
  upstreamStatuses: string[];
}

export interface Nginx {
  url: string;
  port: number;
  /** The access log so far, parsed. */
  accessLog(): Promise<AccessLine[]>;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Debian's nginx in the foreground (`daemon off`, one process) on a free loopback port, in
 * a temp folder of its own, round-robin over `upstreamPorts` with the settings in
 * deploy/compose (the proxy settings included, not copied; the upstream server parameters
 * read from its nginx.conf). Ready once it answers.
 */
export async function startNginx(upstreamPorts: number[]): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), "mediagate-nginx-"));
  const port = await freePort();
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(join(dir, sub));
  const parameters = await upstreamParameters();
  const servers = upstreamPorts.map((p) => `    server 127.0.0.1:${p} ${parameters};`).join("\n");
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format upstreams '$request_method $request_uri $status "$upstream_addr" "$upstream_status"';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream mediagate {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    include ${PROXY_CONF_DIR}/mediagate-proxy.conf;
  }
}
`;
  const confPath = join(dir, "nginx.conf");
  await writeFile(confPath, conf);
  const child = spawn(NGINX, ["-p", dir, "-c", confPath, "-e", join(dir, "error.log")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output: string[] = [];
  child.stdout?.setEncoding("utf8").on("data", (c: string) => output.push(c));
  child.stderr?.setEncoding("utf8").on("data", (c: string) => output.push(c));
  child.once("error", (err) => output.push(String(err)));
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const kill = (signal: NodeJS.Signals) => {
    if (gone || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  process.once("exit", () => kill("SIGKILL"));
  const errorLog = () => readFile(join(dir, "error.log"), "utf8").catch(() => "");

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    // Any answer means it listens (/healthz goes through to a gateway, which may not be up).
    const answered = await send(`${url}/admin`).then(
      (a) => a.status === 404,
      () => false,
    );
    if (answered) break;
    if (gone || Date.now() > deadline) {
      kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${output.join("")}\n${await errorLog()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    async accessLog() {
      const text = await readFile(join(dir, "access.log"), "utf8").catch(() => "");
      return text
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [method = "", path = "", status = "0"] = line.split(" ", 3);
          const quoted = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? "");
          // Several tries read "a, b"; "a : b" after an internal redirect.
          const list = (text: string | undefined) =>
            !text || text === "-" ? [] : text.split(/\s*,\s*|\s+:\s+/);
          return {
            method,
            path,
            status: Number(status),
            upstreams: list(quoted[0]),
            upstreamStatuses: list(quoted[1]),
          };
        });
    },
    errorLog,
    stop: () =>
      (stopping ??= (async () => {
        kill("SIGQUIT");
        const timer = setTimeout(() => kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
