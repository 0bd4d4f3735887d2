/**
 * Erasure jobs shared by several gateway instances: two erasers on one SQLite ledger file
 * (each with a connection and worker of its own, as two processes have) and one store. A job
 * runs on one of them at a time, under a lease in the ledger; one that stops is retried, and
 * one whose runner died is taken over once its lease runs out.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { StorageError, type StorageAdapter } from "@mediagate/core";
import { FsAdapter } from "@mediagate/fs";
import { SqliteLedger, type Ledger } from "@mediagate/ledger";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Audit } from "../src/custody/audit.ts";
import { Eraser } from "../src/custody/eraser.ts";

let dir: string;
let storage: FsAdapter;
let ledgers: Ledger[];
const erasers: Eraser[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-erasure-lease-"));
  await mkdir(join(dir, "store"));
  storage = new FsAdapter({ root: join(dir, "store"), durable: false });
  const path = join(dir, "ledger.db");
  ledgers = [await SqliteLedger.open({ path }), await SqliteLedger.open({ path })];
});
afterEach(async () => {
  await Promise.all(erasers.splice(0).map((e) => e.idle()));
});
afterAll(async () => {
  await Promise.all(ledgers.map((l) => l.close()));
  await rm(dir, { recursive: true, force: true });
});

/** One instance's eraser, with the audit events it wrote. */
function instance(ledger: Ledger, store: StorageAdapter = storage) {
  const events: { event: string; msg: string }[] = [];
  const sink = new Writable({
    write(line: Buffer, _encoding, done) {
      events.push(JSON.parse(line.toString("utf8")) as { event: string; msg: string });
      done();
    },
  });
  const logger = pino({ level: "info" }, sink);
  const eraser = new Eraser({
    ledger,
    storage: store,
    audit: new Audit({ file: undefined, downloads: false }, logger),
    logger,
    now: () => new Date(),
    leaseMs: 1500,
    sweepIntervalMs: 100,
  });
  erasers.push(eraser);
  const finishedHere = () => events.filter((e) => e.event === "erase.uid.finished").length;
  return { eraser, events, finishedHere };
}

/** `count` stored objects of `uid`, each with its record. */
async function stored(uid: string, count: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `t/${uid}/${i}.bin`;
    await storage.write(key, Readable.from([Buffer.from(`${uid}-${i}`)]));
    await ledgers[0]?.record(
      {
        key,
        backend: "fs",
        uid,
        mid: String(i),
        source: 0,
        name: "a.bin",
        size: 1,
        sha256: "0".repeat(64),
        contentType: "application/octet-stream",
        createdAt: new Date(),
        expiresAt: null,
        attributes: {},
      },
      { uploadStartedAt: new Date() },
    );
    keys.push(key);
  }
  return keys;
}

const exists = async (keys: string[]) =>
  (
    await Promise.all(
      keys.map((k) =>
        storage.stat(k).then(
          () => k,
          () => undefined,
        ),
      ),
    )
  ).filter(Boolean);

/** The store with deletes that fail: an instance whose backend refuses. */
function refusingDeletes(): StorageAdapter {
  return new Proxy(storage, {
    get(target, property, receiver) {
      if (property === "delete") {
        return () => Promise.reject(new StorageError("Unavailable", "the backend is down"));
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("an erasure job shared by two instances", () => {
  it("runs on one of them when both resume it at once", async () => {
    const [la, lb] = ledgers as [Ledger, Ledger];
    const keys = await stored("lease-1", 230);
    const job = await la.beginErasure("lease-1", new Date());
    const a = instance(la);
    const b = instance(lb);
    const taken = await Promise.all([a.eraser.resumeAll(), b.eraser.resumeAll()]);
    expect(taken[0] + taken[1]).toBe(1);
    const [doneA, doneB] = await Promise.all([
      a.eraser.finished(job.id),
      b.eraser.finished(job.id),
    ]);
    expect(doneA).toMatchObject({ state: "finished", total: 230, done: 230 });
    expect(doneB).toEqual(doneA);
    expect(a.finishedHere() + b.finishedHere()).toBe(1);
    expect(await exists(keys)).toEqual([]);
  });

  it("is retried by the other instance after it stopped on one", async () => {
    const [la, lb] = ledgers as [Ledger, Ledger];
    const keys = await stored("lease-2", 20);
    const failing = instance(la, refusingDeletes());
    const job = await failing.eraser.erase("lease-2", "admin");
    await expect
      .poll(() => failing.events.some((e) => e.msg === "erasure stopped; it is retried shortly"))
      .toBe(true);
    expect(await exists(keys)).toHaveLength(20);
    await failing.eraser.idle();

    const other = instance(lb);
    other.eraser.startSweeping();
    expect(await other.eraser.finished(job.id)).toMatchObject({ state: "finished", done: 20 });
    expect(other.finishedHere()).toBe(1);
    expect(await exists(keys)).toEqual([]);
  });

  it("is taken over once the lease of a runner that died has run out", async () => {
    const [la, lb] = ledgers as [Ledger, Ledger];
    const keys = await stored("lease-3", 10);
    const job = await la.beginErasure("lease-3", new Date());
    // A runner that took the job and died: its lease is never renewed nor given back.
    const claimedAt = Date.now();
    expect(
      await la.claimErasure(job.id, { runner: "dead", now: new Date(claimedAt), leaseMs: 1000 }),
    ).toBeDefined();
    const survivor = instance(lb);
    expect(await survivor.eraser.resumeAll()).toBe(0);
    survivor.eraser.startSweeping();
    const done = await survivor.eraser.finished(job.id);
    expect(done).toMatchObject({ state: "finished", done: 10 });
    expect(done?.finishedAt?.getTime()).toBeGreaterThanOrEqual(claimedAt + 1000);
    expect(survivor.events.some((e) => e.msg === "took over erasures")).toBe(true);
    expect(await exists(keys)).toEqual([]);
  });
});
