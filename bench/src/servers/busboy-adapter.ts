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
import busboy from "busboy";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { FsAdapter } from "@mediagate/fs";
import { failureAnswer, serve, uploadAnswer } from "./serve.ts";

const root = process.env.BENCH_DIR;
if (!root) throw new Error("BENCH_DIR is not set.");
const adapter = new FsAdapter({
  root,
  createRoot: true,
  durable: process.env.BENCH_DURABLE === "1",
});
await adapter.check();

const server = createServer((req, res) => {
  const answer = (status: number, body: string) => {
    if (res.headersSent) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  };
  let stored: Promise<string> | undefined;
  const form = busboy({ headers: req.headers, limits: { files: 1 } });
  const fields: Record<string, string> = {};
  form.on("field", (name, value) => (fields[name] = value));
  form.on("file", (_field, file, info) => {
    // A dated folder and a random name, as the gateway's keys.
    const key = `${new Date().toISOString().slice(0, 10)}/${randomUUID()}`;
    stored = adapter
      .write(key, file, {
        contentType: info.mimeType,
        metadata: {
          uid: fields.uid ?? "",
          mid: fields.mid ?? "",
          source: fields.source ?? "",
          filename: info.filename ?? "",
        },
      })
      .then(() => key);
  });
  form.on("close", () => {
    if (!stored) return answer(400, failureAnswer("no file"));
    stored.then(
      (key) => answer(200, uploadAnswer(`http://127.0.0.1/${key}`)),
      (err: Error) => answer(500, failureAnswer(err.message)),
    );
  });
  form.on("error", (err: Error) => {
    req.unpipe(form);
    req.resume();
    answer(400, failureAnswer(err.message));
  });
  req.pipe(form);
});
serve(server);
