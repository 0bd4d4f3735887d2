/**
 * Runs the GCS test server on its own, for benchmarks that must not count the server's
 * memory as theirs, and for trying the gateway by hand without Docker:
 *
 *   node --conditions=source packages/test-servers/src/gcs/cli.ts --bucket media [--port 4443]
 *
 * Prints one JSON line (`{"url":…,"hostPort":…,"pid":…}`) once it accepts connections, and
 * stops cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startGcsTestServer } from "./server.ts";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    bucket: { type: "string", multiple: true, default: [] },
  },
});

const server = await startGcsTestServer({
  host: values.host,
  port: Number(values.port),
  buckets: values.bucket,
});
process.stdout.write(
  `${JSON.stringify({ url: server.url, hostPort: server.hostPort, pid: process.pid })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.stop().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
