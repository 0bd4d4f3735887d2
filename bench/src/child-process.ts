import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** How the parent learns that a child is ready to serve. */
export type Readiness =
  /** The child sends `{ type: "ready", ...info }` over IPC (the bench's own scripts). */
  | { kind: "ipc" }
  /** The parent polls this URL until it answers 200 (the gateway). */
  | { kind: "http"; url: string };

export interface ChildOptions {
  /** A short name for messages and the log file. */
  name: string;
  /** The TypeScript entry point, run by Node directly with the "source" condition. */
  script: string;
  env?: Record<string, string>;
  /** Extra Node flags (`--cpu-prof`, …). */
  nodeArgs?: string[];
  /** Resolve workspace packages to their TypeScript sources (default); false for built JS. */
  sourceConditions?: boolean;
  cwd?: string;
  /** The child's stdout and stderr go here, so nothing the parent does not read can block it. */
  logFile: string;
  readiness: Readiness;
  readyTimeoutMs?: number;
}

export interface Child<Info> {
  readonly name: string;
  readonly pid: number;
  /** What the child reported when it became ready (empty for HTTP readiness). */
  readonly info: Info;
  readonly process: ChildProcess;
  /** SIGTERM to the child's whole process group, SIGKILL after a grace period. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every child's process group; for the parent's own exit paths. */
export function killAllChildren(): void {
  for (const child of running) killGroup(child, "SIGKILL");
  running.clear();
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

export const scriptPath = (relative: string, base: string): string =>
  fileURLToPath(new URL(relative, base));

/**
 * Starts a Node child in its own process group (so servers it spawns in turn — Azurite —
 * are stopped with it) and waits until it is ready. Children are separate processes so their
 * memory can be measured from outside and nothing they do runs on the parent's event loop.
 */
export async function startChild<Info extends object = object>(
  options: ChildOptions,
): Promise<Child<Info>> {
  const log = openSync(options.logFile, "a");
  const useIpc = options.readiness.kind === "ipc";
  const child = spawn(
    process.execPath,
    [
      ...(options.sourceConditions === false ? [] : ["--conditions=source"]),
      ...(options.nodeArgs ?? []),
      options.script,
    ],
    {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: useIpc ? ["ignore", log, log, "ipc"] : ["ignore", log, log],
      detached: true,
    },
  );
  closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  exited.then(
    () => running.delete(child),
    () => {},
  );

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    // Anything the child started and left behind in its group.
    killGroup(child, "SIGKILL");
    if (child.connected) child.disconnect();
  };

  try {
    const info = await waitReady<Info>(child, options, exited);
    return { name: options.name, pid: child.pid ?? -1, info, process: child, stop };
  } catch (err) {
    await stop();
    const tail = readFileSync(options.logFile, "utf8").split("\n").slice(-15).join("\n");
    throw new Error(`${options.name} did not start: ${(err as Error).message}\n${tail}`, {
      cause: err,
    });
  }
}

async function waitReady<Info>(
  child: ChildProcess,
  options: ChildOptions,
  exited: Promise<void>,
): Promise<Info> {
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const died = exited.then(() => {
    throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
  });
  if (options.readiness.kind === "ipc") {
    const ready = new Promise<Info>((resolve) => {
      const onMessage = (message: unknown) => {
        if (isReady(message)) {
          child.off("message", onMessage);
          const { type: _type, ...info } = message;
          resolve(info as Info);
        }
      };
      child.on("message", onMessage);
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    return Promise.race([ready, died, timeout]);
  }
  const url = options.readiness.url;
  const poll = async (): Promise<Info> => {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) await died;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        if (res.ok) return {} as Info;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return Promise.race([poll(), died]);
}

function isReady(message: unknown): message is { type: "ready" } & Record<string, unknown> {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === "ready"
  );
}
