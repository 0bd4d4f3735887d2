import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

/** The gateway's entry point in this repository, run from source as the gateway's own tests do. */
export const GATEWAY_MAIN = fileURLToPath(
  new URL("../../../apps/gateway/src/main.ts", import.meta.url),
);

/**
 * A real gateway process (`node --conditions=source apps/gateway/src/main.ts`), for the
 * tests of packages that talk to it over HTTP (clients, browsers). It listens on a free
 * loopback port and runs in its own process group, killed whole by stop() or when the test
 * process exits.
 */
export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`, from its "mediagate is listening" log line. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Its JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Everything it wrote, stdout then stderr, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL to the group if it has not exited within 10 s. */
  stop(): Promise<void>;
}

const running = new Set<number>();
process.once("exit", () => {
  for (const pid of running) killGroup(pid, "SIGKILL");
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Starts the gateway with `env` (on top of PORT=0, HOST=127.0.0.1 and LOG_LEVEL=info; nothing
 * else from the test's environment leaks in) and resolves once it logs that it listens.
 */
export async function startGateway(
  env: Record<string, string>,
  options: { timeoutMs?: number } = {},
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["--conditions=source", GATEWAY_MAIN], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? tmpdir(),
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      ...env,
    },
    // Not the repository: a stray .env there must not configure the test's gateway.
    cwd: tmpdir(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid ?? -1;
  running.add(pid);
  const out: string[] = [];
  const err: string[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => out.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => err.push(chunk));
  const exited = new Promise<void>((resolve) =>
    child.once("close", () => {
      running.delete(pid);
      resolve();
    }),
  );
  const logs = () =>
    out
      .join("")
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const output = () => `${out.join("")}\n${err.join("")}`;

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(pid, "SIGKILL");
      reject(new Error(`the gateway did not start in time:\n${output()}`));
    }, options.timeoutMs ?? 30_000);
    const onData = () => {
      const line = logs().find((entry) => entry.msg === "mediagate is listening");
      if (!line) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      resolve(String(line.url));
    };
    child.stdout.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited before listening:\n${output()}`));
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    logs,
    output,
    stop: () =>
      (stopping ??= (async () => {
        child.kill("SIGTERM");
        const timer = setTimeout(() => killGroup(pid, "SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
        // Anything it started goes with it.
        killGroup(pid, "SIGKILL");
      })()),
  };
}
