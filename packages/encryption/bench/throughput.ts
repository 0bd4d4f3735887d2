/**
 * Throughput of the streaming stages against a plain pass-through: 512 MiB per cell (BENCH_MIB
 * overrides), best of 3 rounds (BENCH_ROUNDS). Run: `npm run bench -w @mediagate/encryption`.
 *
 * - write: generated plaintext → stage → file on tmpfs (the fs backend's upload, minus HTTP)
 * - read:  that file → stage → discard (the fs backend's download, minus HTTP)
 * - encrypt → decrypt: both stages in one pipeline, no I/O: the CPU cost of both
 * - ranges: 1 MiB ranges at random offsets of the file: fs range read + RangeDecryptStream
 *
 * Rounds go round-robin over the cells, so a busy moment on a shared machine hits all cells
 * alike; each cell keeps its best round. MiB per CPU-second is printed beside wall-clock MiB/s
 * because it is steadier there. The pipeline runs on one thread (fs I/O uses libuv's pool).
 */
import { randomBytes, randomInt } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DEFAULT_FORMAT,
  SecretKey,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  headerLength,
  planRange,
} from "../src/index.ts";

const MIB = 1024 * 1024;
const total = Number(process.env.BENCH_MIB ?? 512) * MIB;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const chunkSize = 64 * 1024;
const pool = randomBytes(MIB);
const key = SecretKey.generate();
const associatedData = "bench/object-key";
const options = { associatedData };

function source(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (sent >= bytes) return void this.push(null);
      const offset = sent % MIB;
      const end = Math.min(offset + chunkSize, MIB, offset + bytes - sent);
      this.push(pool.subarray(offset, end));
      sent += end - offset;
    },
  });
}

function sink(): Writable {
  return new Writable({
    write(_chunk: Buffer, _encoding, done) {
      done();
    },
  });
}

interface Cell {
  label: string;
  bytes: () => number;
  run: () => Promise<unknown>;
  /** MiB per wall-clock second and per CPU-second, best round. */
  wall: number;
  cpu: number;
  peakRss: number;
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

async function measure(cell: Cell): Promise<void> {
  globalThis.gc?.();
  peakRss = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  await cell.run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const mib = cell.bytes() / MIB;
  cell.wall = Math.max(cell.wall, mib / seconds);
  cell.cpu = Math.max(cell.cpu, mib / ((cpu.user + cpu.system) / 1e6));
  cell.peakRss = Math.max(cell.peakRss, peakRss);
}

const base = process.env.BENCH_DIR ?? (process.platform === "linux" ? "/dev/shm" : tmpdir());
const dir = await mkdtemp(join(base, "mg-enc-bench-"));
try {
  const plainFile = join(dir, "plain");
  const sealedFile = join(dir, "sealed");
  await pipeline(source(total), createEncryptStream(key, options), createWriteStream(sealedFile));
  const sealedSize = (await stat(sealedFile)).size;
  const header = await readBytes(sealedFile, 0, headerLength(DEFAULT_FORMAT) - 1);
  const ranges = 64;

  const cell = (label: string, bytes: () => number, run: () => Promise<unknown>): Cell => ({
    label,
    bytes,
    run,
    wall: 0,
    cpu: 0,
    peakRss: 0,
  });
  const write = (file: string, stage: () => Transform) => () =>
    pipeline(source(total), stage(), createWriteStream(file));
  const read = (stage: () => Transform) => () =>
    pipeline(createReadStream(sealedFile, { highWaterMark: chunkSize }), stage(), sink());
  const cells = {
    plainWrite: cell(
      "write: pass-through",
      () => total,
      write(plainFile, () => new PassThrough()),
    ),
    encWrite: cell(
      "write: encrypt",
      () => total,
      write(plainFile, () => createEncryptStream(key, options)),
    ),
    plainRead: cell(
      "read: pass-through",
      () => sealedSize,
      read(() => new PassThrough()),
    ),
    decRead: cell(
      "read: decrypt",
      () => sealedSize,
      read(() => createDecryptStream(key, options)),
    ),
    both: cell(
      "encrypt → decrypt, no I/O",
      () => total,
      () =>
        pipeline(
          source(total),
          createEncryptStream(key, options),
          createDecryptStream(key, options),
          sink(),
        ),
    ),
    ranges: cell(
      `${ranges} random 1 MiB ranges`,
      () => ranges * MIB,
      async () => {
        for (let i = 0; i < ranges; i += 1) {
          const start = randomInt(0, total - MIB);
          const plan = planRange(sealedSize, { start, end: start + MIB - 1 });
          const { start: from, end: to } = plan.ciphertext;
          const input = createReadStream(sealedFile, { start: from, end: to });
          await pipeline(
            input,
            createRangeDecryptStream(key, plan, { associatedData, header }),
            sink(),
          );
        }
      },
    ),
  };
  for (let round = 0; round < rounds; round += 1) {
    for (const each of Object.values(cells)) await measure(each);
  }

  console.log(
    `${total / MIB} MiB, ${chunkSize / 1024} KiB chunks, 64 KiB segments, best of ${rounds}, node ${process.version}\n`,
  );
  console.log("| cell                         | MiB/s  | MiB/cpu-s | peak RSS MiB |");
  console.log("| ---------------------------- | -----: | --------: | -----------: |");
  for (const { label, wall, cpu, peakRss: peak } of Object.values(cells)) {
    const row = [
      label.padEnd(28),
      wall.toFixed(0).padStart(6),
      cpu.toFixed(0).padStart(9),
      (peak / MIB).toFixed(0).padStart(12),
    ];
    console.log(`| ${row.join(" | ")} |`);
  }
  const ratio = (a: Cell, b: Cell) =>
    `${(a.wall / b.wall).toFixed(2)} (wall), ${(a.cpu / b.cpu).toFixed(2)} (cpu)`;
  console.log(`\nwrite encrypted / plain: ${ratio(cells.encWrite, cells.plainWrite)}`);
  console.log(`read decrypted / plain: ${ratio(cells.decRead, cells.plainRead)}`);
} finally {
  clearInterval(sampler);
  await rm(dir, { recursive: true, force: true });
}

async function readBytes(path: string, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of createReadStream(path, { start, end })) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
