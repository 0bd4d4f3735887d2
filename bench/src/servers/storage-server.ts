/**
 * Runs one storage backend's test server (from @mediagate/test-servers) in its own process,
 * so the emulator's memory and CPU are never counted as the gateway's. Reports how to reach
 * it over IPC and stops it (and anything it spawned) when the parent says so or goes away.
 */
import type { BackendEndpoint } from "../backend.ts";
import { startTestServer } from "../test-server.ts";

const provider = process.env.BENCH_PROVIDER ?? "";
const server = await startTestServer(provider);
const stop = () => {
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", stop);
process.once("disconnect", stop);
process.send?.({ type: "ready", endpoint: server.endpoint satisfies BackendEndpoint });
