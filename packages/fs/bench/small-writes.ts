/**
 * Small objects through `FsAdapter.write` against the plain filesystem calls a bare server
 * would make, in this process: objects/s and CPU µs per object (`process.cpuUsage`, user +
 * system, thread-pool threads included). Not a test: it prints figures (see the README).
 *
 *   npm run bench -w @mediagate/fs
 *   npm run bench -w @mediagate/fs -- --count 4000 --size 16kb --concurrency 16 --rounds 5
 *   npm run bench -w @mediagate/fs -- --adapter old=/path/to/old/src/index.ts   # compare builds
 *
 * Every cell runs once per round, rounds alternate the order of the cells, and the median
 * (and the spread) of the rounds is printed: the machine is shared, single runs are noisy.
 * Nothing is deleted until the end: ext4 makes file creation slow for a minute after mass
 * deletion (its inode allocator skips recently deleted inodes), which would bill one cell
 * for another's clean-up. Keys look like the gateway's (`yyyy/mm/dd/<40 hex>.bin`); each
 * body is a fresh stream of one chunk.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { constants, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { StorageAdapter } from "@mediagate/core";
import type { FsAdapterOptions } from "../src/index.ts";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "3000" },
    size: { type: "string", default: "16kb" },
    concurrency: { type: "string", default: "16" },
    rounds: { type: "string", default: "3" },
    /** `name=path/to/src/index.ts`, repeatable: builds to compare with this one. */
    adapter: { type: "string", multiple: true, default: [] },
    only: { type: "string" },
  },
});

function size(text: string): number {
  const match = /^(\d+)(b|kb|mb)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text}`);
  const unit = { b: 1, kb: 1024, mb: 1024 * 1024 }[(match[2] ?? "b").toLowerCase() as "b"];
  return Number(match[1]) * unit;
}

const COUNT = Number(args.count);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const BODY = randomBytes(size(args.size));
const DAY = "2025/12/06";

interface AdapterModule {
  FsAdapter: new (options: FsAdapterOptions) => StorageAdapter;
}
const builds: { label: string; module: AdapterModule }[] = [
  { label: "", module: (await import("../src/index.ts")) as AdapterModule },
];
for (const spec of args.adapter) {
  const [label, path] = spec.includes("=") ? spec.split(/=(.*)/s) : ["other", spec];
  const href = pathToFileURL(resolve(path ?? "")).href;
  builds.push({ label: `${label} `, module: (await import(href)) as AdapterModule });
}

/** One way of storing `COUNT` objects into a fresh folder. */
interface Cell {
  name: string;
  prepare(root: string): Promise<(key: string) => Promise<void>>;
}

const keyPath = (root: string, key: string) => join(root, ...key.split("/"));

function adapterCells(label: string, module: AdapterModule, durable: boolean): Cell[] {
  const cell = (name: string, options: Partial<FsAdapterOptions>): Cell => ({
    name: `${label}FsAdapter ${name}`,
    async prepare(root) {
      const adapter = new module.FsAdapter({ root, durable, ...options });
      // The day's folder exists and is known, as it is for all but a day's first upload.
      await adapter.write(`${DAY}/warm-up`, Readable.from([BODY]), {});
      return async (key) => {
        await adapter.write(key, Readable.from([BODY]), {
          contentType: "image/jpeg",
          metadata: { uid: "4711", mid: "123456789", source: "0", name: "IMG_0001.jpg" },
        });
      };
    },
  });
  return [
    cell(`durable:${durable}`, {}),
    cell(`durable:${durable}, thread pool only`, { inlineSyscalls: false }),
  ];
}

const cells: Cell[] = [
  {
    name: "open/write/close",
    async prepare(root) {
      await mkdir(join(root, DAY), { recursive: true });
      return async (key) => {
        const handle = await open(keyPath(root, key), "wx");
        try {
          await handle.write(BODY);
        } finally {
          await handle.close();
        }
      };
    },
  },
  {
    name: "createWriteStream (multer/busboy)",
    async prepare(root) {
      await mkdir(join(root, DAY), { recursive: true });
      return (key) => pipeline(Readable.from([BODY]), createWriteStream(keyPath(root, key)));
    },
  },
  ...builds.flatMap((b) => adapterCells(b.label, b.module, false)),
  {
    name: "open/write/fsync/close/rename/fsync dir",
    async prepare(root) {
      await mkdir(join(root, DAY), { recursive: true });
      await mkdir(join(root, "tmp"));
      return async (key) => {
        const temp = join(root, "tmp", randomUUID());
        const handle = await open(temp, "wx");
        try {
          await handle.write(BODY);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, keyPath(root, key));
        const dir = await open(join(root, DAY), constants.O_RDONLY | constants.O_DIRECTORY);
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
      };
    },
  },
  ...builds.flatMap((b) => adapterCells(b.label, b.module, true)),
];

interface Figures {
  perSecond: number;
  cpuMicros: number;
  /** Of which in the kernel (system time). */
  systemMicros: number;
}

const roots: string[] = [];

async function runCell(cell: Cell): Promise<Figures> {
  const root = await mkdtemp(join(tmpdir(), "mediagate-fs-bench-"));
  roots.push(root);
  const store = await cell.prepare(root);
  const keys = Array.from({ length: COUNT }, () => `${DAY}/${randomBytes(20).toString("hex")}.bin`);
  let next = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < keys.length) await store(keys[next++] as string);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    perSecond: COUNT / seconds,
    cpuMicros: (used.user + used.system) / COUNT,
    systemMicros: used.system / COUNT,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const chosen = cells.filter((c) => !args.only || c.name.includes(args.only));
const results = new Map<string, Figures[]>(chosen.map((c) => [c.name, []]));
console.log(
  `${COUNT} objects of ${BODY.length} bytes, concurrency ${CONCURRENCY}, ${ROUNDS} rounds`,
);
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order, so no cell always runs right after the same neighbour.
    for (const cell of round % 2 === 0 ? chosen : [...chosen].reverse()) {
      results.get(cell.name)?.push(await runCell(cell));
    }
  }
} finally {
  for (const root of roots) await rm(root, { recursive: true, force: true });
}
const pad = Math.max(...chosen.map((c) => c.name.length));
console.log(
  `${"".padEnd(pad)}   objects/s (min–max)      CPU µs/object (min–max)   of which system`,
);
for (const cell of chosen) {
  const runs = results.get(cell.name) ?? [];
  const fmt = (values: number[], digits: number) =>
    `${median(values).toFixed(digits).padStart(7)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
  const rate = fmt(
    runs.map((r) => r.perSecond),
    0,
  );
  const cpu = fmt(
    runs.map((r) => r.cpuMicros),
    1,
  );
  const system = median(runs.map((r) => r.systemMicros)).toFixed(1);
  console.log(`${cell.name.padEnd(pad)}   ${rate.padEnd(22)}   ${cpu.padEnd(24)}   ${system}`);
}
