/**
 * What recording an upload costs the gateway's own thread: CPU microseconds on the caller's
 * thread per `record()` (validation, the message to the worker, the answer), at a given
 * concurrency, with the SQLite ledger durable and not; `--postgres` adds the PostgreSQL
 * ledger (the pg client's work) against a test server.
 *
 *   node --conditions=source bench/record.ts [--records 20000] [--concurrency 16] [--postgres]
 *
 * Not a test: numbers vary with the machine, so they are printed, never asserted. The CPU is
 * `process.threadCpuUsage()` of the main thread only: the worker's SQLite time and fsync
 * waits are off the event loop, which is the point.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startPostgres } from "@mediagate/test-servers";
import { openLedger, type Ledger, type LedgerConfig, type NewRecord } from "../src/index.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "16" },
    postgres: { type: "boolean", default: false },
  },
});
const total = Number(values.records);
const concurrency = Number(values.concurrency);

/** Inputs are made before the clock starts: only the ledger's share is measured. */
function inputs(n: number, run: string): NewRecord[] {
  const createdAt = new Date();
  return Array.from({ length: n }, (_, i) => ({
    key: `2030/01/15/${run}-${i.toString(36)}-a8f3c2d19e7b4f60b1c2d3e4f5a6b7c8`,
    backend: "fs",
    uid: `user-${i % 500}`,
    mid: `${1_700_000_000 + i}`,
    source: 0,
    name: "IMG_20300115_120000.jpg",
    size: 16_384,
    sha256: createHash("sha256").update(`${run}${i}`).digest("hex"),
    contentType: "image/jpeg",
    createdAt,
    expiresAt: null,
    attributes: { stripped: "exif" },
  }));
}

async function drive(ledger: Ledger, records: NewRecord[]): Promise<void> {
  let next = 0;
  const uploadStartedAt = new Date();
  const worker = async () => {
    for (let i = next++; i < records.length; i = next++) {
      const result = await ledger.record(records[i] as NewRecord, { uploadStartedAt });
      if (result.status !== "recorded") throw new Error("refused");
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function measure(label: string, config: LedgerConfig): Promise<void> {
  const ledger = await openLedger(config);
  try {
    await drive(ledger, inputs(Math.min(2000, total), `warm-${label}`)); // JIT, statement caches
    const records = inputs(total, `run-${label}`);
    const cpu = process.threadCpuUsage();
    const started = performance.now();
    await drive(ledger, records);
    const seconds = (performance.now() - started) / 1000;
    const used = process.threadCpuUsage(cpu);
    const perRecord = (used.user + used.system) / total;
    if (process.env.SPLIT)
      console.log(
        `user ${(used.user / total).toFixed(1)} system ${(used.system / total).toFixed(1)}`,
      );
    console.log(
      `${label.padEnd(26)} ${perRecord.toFixed(1).padStart(7)} µs CPU/record on the caller's thread` +
        `   ${Math.round(total / seconds)
          .toString()
          .padStart(6)} records/s`,
    );
  } finally {
    await ledger.close();
  }
}

console.log(
  `${total} records of a 16 KiB upload, concurrency ${concurrency}, Node ${process.version}`,
);
const dir = await mkdtemp(join(tmpdir(), "mediagate-ledger-bench-"));
try {
  await measure("sqlite durable (FULL)", {
    kind: "sqlite",
    path: join(dir, "a.db"),
    durable: true,
  });
  await measure("sqlite durable: false", {
    kind: "sqlite",
    path: join(dir, "b.db"),
    durable: false,
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (values.postgres) {
  const pg = await startPostgres();
  try {
    await measure("postgres (pg, pool 10)", { kind: "postgres", url: pg.url });
  } finally {
    await pg.stop();
  }
}
