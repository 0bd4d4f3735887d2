/**
 * The near-limit reference for the fs backend: bare node:http, busboy parsing the form, the
 * file part piped straight into a file. No framework, no validation, no metadata — what the
 * gateway on fs would cost if it did nothing but move bytes.
 *
 * With BENCH_DURABLE=1 it answers only once the file is on disk, the least a durable store
 * does (the fs adapter's contract): written under a temporary name and fsynced, renamed into
 * place, and the folder fsynced so the rename survives a crash.
 */
import busboy from "busboy";
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rename } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { failureAnswer, serve, uploadAnswer } from "./serve.ts";

const dir = process.env.BENCH_DIR;
if (!dir) throw new Error("BENCH_DIR is not set.");
const durable = process.env.BENCH_DURABLE === "1";

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function store(file: NodeJS.ReadableStream, name: string): Promise<string> {
  const path = join(dir as string, name);
  if (!durable) {
    await pipeline(file, createWriteStream(path));
    return name;
  }
  await pipeline(file, createWriteStream(`${path}.tmp`, { flush: true }));
  await rename(`${path}.tmp`, path);
  await syncFolder(dir as string);
  return name;
}

const server = createServer((req, res) => {
  const answer = (status: number, body: string) => {
    if (res.headersSent) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  };
  let stored: Promise<string> | undefined;
  const form = busboy({ headers: req.headers, limits: { files: 1 } });
  form.on("file", (_field, file) => {
    stored = store(file, randomUUID());
  });
  form.on("close", () => {
    if (!stored) return answer(400, failureAnswer("no file"));
    stored.then(
      (name) => answer(200, uploadAnswer(`http://127.0.0.1/${name}`)),
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
