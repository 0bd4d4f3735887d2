import type { Server } from "node:http";

/**
 * Runs a benchmark server as a child process: listens on a free loopback port, tells the
 * parent which one over IPC, and exits when told to stop or when the parent goes away (so
 * no server outlives a crashed benchmark).
 */
export function serve(server: Server, extra: Record<string, unknown> = {}): void {
  // A stalled 512 MiB upload at concurrency 16 can legitimately take minutes.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    process.send?.({ type: "ready", port, ...extra });
  });
  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once("SIGTERM", shutdown);
  process.once("disconnect", shutdown);
}

/** mesibo's success answer. */
export function uploadAnswer(url: string): string {
  return JSON.stringify({ result: true, url });
}

export function failureAnswer(message: string): string {
  return JSON.stringify({ result: false, error: { code: "internal", message } });
}
