/**
 * The least an upload server does, for the benchmark's denominator: Node's HTTP server reads
 * the body, hashes it (SHA-256) and writes it to a file. `POST /strip` puts the strip stage
 * in front of the hash, as the gateway's store step does, `POST /pass` a PassThrough there.
 * Each answer carries the CPU µs this process spent on that upload (one upload at a time), so
 * the benchmark measures the server alone, not its own client.
 * Started by strip-bench.ts with fork(); sends its port over IPC.
 */
import { createHash } from "node:crypto";
import { createWriteStream, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createStripStream } from "../src/index.ts";

const dir = await mkdtemp(join(tmpdir(), "mediagate-strip-upload-"));
let n = 0;

const server = createServer((req, res) => {
  const start = process.cpuUsage();
  const hash = createHash("sha256");
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const file = createWriteStream(join(dir, `upload-${n++ % 8}`));
  const stage =
    req.url === "/strip" ? [createStripStream()] : req.url === "/pass" ? [new PassThrough()] : [];
  pipeline([req, ...stage, hashing, file]).then(
    () => {
      const used = process.cpuUsage(start);
      res.end(JSON.stringify({ sha256: hash.digest("hex"), cpu: used.user + used.system }));
    },
    (err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    },
  );
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") process.send?.({ port: address.port });
});

process.on("disconnect", () => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
