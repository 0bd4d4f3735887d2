/**
 * The download reference: a plain node:http server piping fs.createReadStream into the
 * response, with single byte ranges. What serving a stored file costs with nothing between.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { serve } from "./serve.ts";

const dir = process.env.BENCH_DIR;
if (!dir) throw new Error("BENCH_DIR is not set.");

const server = createServer(async (req, res) => {
  const name = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
  if (!/^[\w.-]+$/.test(name)) {
    res.writeHead(404).end();
    return;
  }
  const path = join(dir, name);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
  if (range && start >= size) {
    res.writeHead(416, { "content-range": `bytes */${size}` }).end();
    return;
  }
  res.writeHead(range ? 206 : 200, {
    "content-type": "application/octet-stream",
    "content-length": end - start + 1,
    ...(range ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
  });
  await pipeline(createReadStream(path, { start, end }), res).catch(() => {});
});
serve(server);
