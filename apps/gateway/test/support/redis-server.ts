import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One PING over a fresh connection; true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/**
 * A real redis-server (Debian's package) on a free loopback port, in memory only, ready once
 * it answers PING. `port` restarts one on a given port (an outage that ends).
 */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const output: string[] = [];
  child.once("error", (err: NodeJS.ErrnoException) => {
    output.push(
      err.code === "ENOENT"
        ? "redis-server is not on the PATH (Debian/Ubuntu: apt install redis-server; macOS: brew install redis)"
        : String(err),
    );
  });
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (gone || Date.now() > deadline) {
      if (!gone && child.pid) process.kill(-child.pid, "SIGKILL");
      throw new Error(`redis-server did not start on port ${port}:\n${output.join("")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      (stopping ??= (async () => {
        if (!gone && child.pid) process.kill(-child.pid, "SIGKILL");
        await exited;
      })()),
  };
}
