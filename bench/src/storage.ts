import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { BackendEndpoint, BackendName } from "./backend.ts";
import { scriptPath, startChild } from "./child-process.ts";

export interface RunningStorage {
  endpoint: BackendEndpoint;
  /** The storage server's process (undefined for fs, which has none). */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * The storage server for one backend: a folder for fs, otherwise the project's test server
 * running in a child process of its own.
 */
export async function startStorage(
  backend: BackendName,
  options: { workDir: string; logFile: string },
): Promise<RunningStorage> {
  if (backend === "fs") {
    const root = join(options.workDir, "fs-store");
    await mkdir(root, { recursive: true });
    return { endpoint: { provider: "fs", root }, stop: async () => {} };
  }
  const child = await startChild<{ endpoint: BackendEndpoint }>({
    name: `${backend} test server`,
    script: scriptPath("./servers/storage-server.ts", import.meta.url),
    env: { BENCH_PROVIDER: backend },
    logFile: options.logFile,
    readiness: { kind: "ipc" },
    readyTimeoutMs: 60_000,
  });
  return { endpoint: child.info.endpoint, pid: child.pid, stop: () => child.stop() };
}
