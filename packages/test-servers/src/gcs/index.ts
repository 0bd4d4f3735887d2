export { GcsTestServer, startGcsTestServer } from "./server.ts";
export type { Fault, GcsTestServerOptions, RecordedRequest } from "./server.ts";
export { crc32cUpdate, encodeCrc32c } from "./checksums.ts";

import { extname } from "node:path";
import { fileURLToPath } from "node:url";
/** The server's command-line entry (see cli.ts), to run it in a process of its own. */
export const GCS_TEST_SERVER_CLI = fileURLToPath(
  new URL(`./cli${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);
