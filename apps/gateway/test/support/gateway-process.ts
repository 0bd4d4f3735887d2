import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../../src/main.ts");

/** Only what the gateway needs: nothing from the test runner's own environment leaks in. */
function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    LOG_LEVEL: "info",
  };
}

export interface GatewayProcess {
  url: string;
  pid: number;
  /** Everything the process wrote so far, stdout then stderr. */
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines from stdout. */
  logs(): Record<string, unknown>[];
  /** Peak resident memory (VmHWM) so far, in bytes, read from /proc. */
  peakRss(): number;
  /** Sends a signal without waiting. */
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL to the whole process group if it does not exit in time. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Closes the test's ends of its stdout and stderr, as a log collector that died would. */
  closeOutput(): void;
}

interface Spawned {
  child: ChildProcess;
  out: string[];
  err: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Ledger files of gateways that were given none, removed when the test process exits. */
const ledgerDirs: string[] = [];

/**
 * Every gateway gets a ledger of its own unless the test names one: the default path
 * (./data/mediagate.db) would be shared by every gateway a test run starts.
 */
function ledgerEnv(env: Record<string, string>): Record<string, string> {
  if (env.LEDGER_PATH || env.LEDGER_URL || env.LEDGER) return {};
  const dir = mkdtempSync(join(tmpdir(), "mediagate-test-ledger-"));
  ledgerDirs.push(dir);
  return { LEDGER_PATH: join(dir, "ledger.db") };
}

function spawnMain(env: Record<string, string>, cwd?: string, fileLimit?: number): Spawned {
  // prlimit (util-linux) starts the gateway with a descriptor limit of the test's choosing.
  const [command, args] =
    fileLimit === undefined
      ? [process.execPath, ["--conditions=source", MAIN]]
      : [
          "prlimit",
          [
            `--nofile=${fileLimit}:${fileLimit}`,
            "--",
            process.execPath,
            "--conditions=source",
            MAIN,
          ],
        ];
  const child = spawn(command, args, {
    env: { ...baseEnv(), ...ledgerEnv(env), ...env },
    cwd: cwd ?? process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so a stuck gateway and anything it started can be killed whole.
    detached: true,
  });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => out.push(chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => err.push(chunk));
  // "close", not "exit": only then has everything the process wrote been read.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  const { pid } = child;
  if (pid !== undefined) {
    running.add(pid);
    void exited.then(() => running.delete(pid));
  }
  return { child, out, err, exited };
}

/**
 * Gateways are detached (their own process group), so a test that fails before stopping
 * one would leave it running after the test run: whatever is still running when the test
 * process exits is killed.
 */
const running = new Set<number>();
process.once("exit", () => {
  for (const pid of running) killGroup(pid, "SIGKILL");
  for (const dir of ledgerDirs) rmSync(dir, { recursive: true, force: true });
});

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts `src/main.ts` and resolves once it logs that it listens (PORT=0 picks a free port). */
export async function startGatewayProcess(
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number; fileLimit?: number } = {},
): Promise<GatewayProcess> {
  const { child, out, err, exited } = spawnMain(
    { PORT: "0", HOST: "127.0.0.1", ...env },
    options.cwd,
    options.fileLimit,
  );
  const pid = child.pid ?? -1;
  const logs = () =>
    out
      .join("")
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(pid, "SIGKILL");
      reject(new Error(`gateway did not start in time:\n${out.join("")}\n${err.join("")}`));
    }, options.timeoutMs ?? 30_000);
    const onData = () => {
      const listening = logs().find((line) => line.msg === "mediagate is listening");
      if (listening) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve(String(listening.url));
      }
    };
    child.stdout?.on("data", onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before listening:\n${err.join("")}`));
    });
  });

  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  let signalled = false;
  // A gateway that dies on its own fails every later request with a bare ECONNREFUSED: say
  // why, once, where the test run's output shows it.
  void exited.then(({ code, signal }) => {
    if (signalled || stopping) return;
    process.stderr.write(
      `gateway ${pid} exited by itself (${code ?? signal}):\n${err.join("")}\n${out.join("").slice(-4000)}\n`,
    );
  });
  return {
    url,
    pid,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    logs,
    peakRss: () => {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
      if (!kb) throw new Error("no VmHWM in /proc status");
      return Number(kb) * 1024;
    },
    signal: (signal) => {
      signalled = true;
      child.kill(signal);
    },
    exited,
    stop: () =>
      (stopping ??= (async () => {
        child.kill("SIGTERM");
        const timer = setTimeout(() => killGroup(pid, "SIGKILL"), 20_000);
        const result = await exited;
        clearTimeout(timer);
        killGroup(pid, "SIGKILL");
        return result;
      })()),
    closeOutput: () => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}

/** Runs `src/main.ts` expecting it to exit by itself (bad configuration), with a time limit. */
export async function runGatewayToExit(
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { child, out, err, exited } = spawnMain(env, options.cwd);
  const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), options.timeoutMs ?? 20_000);
  const { code } = await exited;
  clearTimeout(timer);
  return { code, stdout: out.join(""), stderr: err.join("") };
}
