/**
 * The fs adapter's own cost, without the gateway: bare node:http and busboy, as in
 * busboy-disk.ts, but the file part is stored through `FsAdapter.write` with the metadata
 * the gateway gives an upload. Everything the gateway adds on top of this (Express, multer,
 * authentication, the type sniff, the digest, logging) is the gap between the two; what
 * the adapter's contract costs (a temp file renamed into place, the metadata sidecar, the
 * fsyncs when durable) is the gap between this and bare busboy.
 *
 * BENCH_DURABLE=1 keeps the adapter's default (every write fsynced); otherwise it writes
 * as the gateway does with FS_DURABLE=false.
 */
import { randomUUID } from "node:crypto";
import { FsAdapter } from "@mediagate/fs";
import { busboyServer } from "./busboy-server.ts";
import { serve } from "./serve.ts";

const root = process.env.BENCH_DIR;
if (!root) throw new Error("BENCH_DIR is not set.");
const adapter = new FsAdapter({
  root,
  createRoot: true,
  durable: process.env.BENCH_DURABLE === "1",
});
await adapter.check();

serve(
  busboyServer(async (file, info, fields) => {
    // A dated folder and a random name, as the gateway's keys.
    const key = `${new Date().toISOString().slice(0, 10)}/${randomUUID()}`;
    await adapter.write(key, file, {
      contentType: info.mimeType,
      metadata: {
        uid: fields.uid ?? "",
        mid: fields.mid ?? "",
        source: fields.source ?? "",
        filename: info.filename ?? "",
      },
    });
    return key;
  }),
);
