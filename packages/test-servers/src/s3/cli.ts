/**
 * Runs the S3 test server (s3rver behind the signature-checking proxy) on its own, for
 * trying the adapter or the gateway by hand without Docker:
 *
 *   node --conditions=source packages/test-servers/src/s3/cli.ts --bucket mediagate [--port 9000]
 *
 * Access key and secret are both S3RVER. Prints one JSON line (`{"endpoint":…,"pid":…}`)
 * once it accepts connections, and stops cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startS3TestServer } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    bucket: { type: "string", multiple: true, default: [] },
  },
});

const server = await startS3TestServer({ buckets: values.bucket, port: Number(values.port) });
process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint, pid: process.pid })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.stop().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
