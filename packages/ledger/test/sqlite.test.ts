import { mkdtemp, rm, stat } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeLedgerConformance,
  expectLedgerError,
  newRecord,
  T0,
} from "../src/conformance/index.ts";
import { openLedger, SqliteLedger } from "../src/index.ts";

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mediagate-ledger-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));
const freshPath = () => join(root, `ledger-${++n}`, "mediagate.db");

// Both durability modes: turning fsync off must change nothing else.
for (const durable of [true, false]) {
  describeLedgerConformance({
    name: durable ? "sqlite" : "sqlite (durable: false)",
    database: async () => {
      const path = freshPath();
      return {
        open: () => SqliteLedger.open({ path, durable }),
        drop: () => rm(join(path, ".."), { recursive: true, force: true }),
      };
    },
  });
}

describe("SqliteLedger", () => {
  it("creates the file and its folder, in WAL mode, through openLedger", async () => {
    const path = join(root, "deep", "er", "ledger.db");
    const ledger = await openLedger({ kind: "sqlite", path, durable: false });
    try {
      expect(ledger.kind).toBe("sqlite");
      expect((await stat(path)).isFile()).toBe(true);
      const raw = new DatabaseSync(path, { readOnly: true });
      try {
        expect(raw.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
      } finally {
        raw.close();
      }
    } finally {
      await ledger.close();
    }
  });

  it("commits requests that share a transaction independently: one failure spoils no other", async () => {
    const ledger = await SqliteLedger.open({ path: freshPath() });
    try {
      const taken = newRecord();
      await ledger.record(taken, { uploadStartedAt: T0 });
      // Made in one tick, these travel in one message and run in one transaction.
      const batch = Array.from({ length: 20 }, (_, i) => (i === 7 ? taken : newRecord()));
      const outcomes = await Promise.allSettled(
        batch.map((r) => ledger.record(r, { uploadStartedAt: T0 })),
      );
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(19);
      await expectLedgerError(
        Promise.reject((outcomes[7] as PromiseRejectedResult).reason),
        "Conflict",
      );
      for (const [i, r] of batch.entries()) {
        if (i !== 7) expect((await ledger.get(r.key))?.sha256).toBe(r.sha256);
      }
      expect((await ledger.stats()).records).toBe(20);
    } finally {
      await ledger.close();
    }
  });

  it("keeps what it committed across a close and a reopen", async () => {
    const path = freshPath();
    const first = await SqliteLedger.open({ path });
    const r = newRecord({ uid: "u1" });
    await first.record(r, { uploadStartedAt: T0 });
    await first.close();
    const second = await SqliteLedger.open({ path });
    try {
      expect((await second.get(r.key))?.key).toBe(r.key);
      expect((await second.usage("u1", T0)).files).toBe(1);
    } finally {
      await second.close();
    }
  });

  it("upgrades a version-1 ledger with an erasure running, which can then be leased", async () => {
    const path = freshPath();
    const first = await SqliteLedger.open({ path });
    const job = await first.beginErasure("u-upgrade", T0);
    await first.close();
    // Back to version 1 as it was released: no lease columns, no version-2 row.
    const raw = new DatabaseSync(path);
    raw.exec(`ALTER TABLE mg_erasures DROP COLUMN runner;
      ALTER TABLE mg_erasures DROP COLUMN lease_until;
      DELETE FROM mg_migrations WHERE version = 2`);
    raw.close();
    const upgraded = await SqliteLedger.open({ path });
    try {
      expect((await upgraded.migrations()).map((m) => m.version)).toEqual([1, 2]);
      expect(await upgraded.unfinishedErasures()).toEqual([job]);
      const claim = { runner: "r", now: T0, leaseMs: 1000 };
      expect(await upgraded.claimErasure(job.id, claim)).toEqual(job);
    } finally {
      await upgraded.close();
    }
  });

  it("refuses a database whose schema is newer than it knows, and a path that is no file", async () => {
    const path = freshPath();
    await (await SqliteLedger.open({ path })).close();
    const raw = new DatabaseSync(path);
    raw.exec("INSERT INTO mg_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
    raw.close();
    await expectLedgerError(SqliteLedger.open({ path }), "Conflict");
    await expectLedgerError(SqliteLedger.open({ path: root }), "Unavailable");
    await expectLedgerError(SqliteLedger.open({ path: "" }), "InvalidArgument");
    await expectLedgerError(openLedger({ kind: "mysql" } as never), "InvalidArgument");
  });

  it("is backed up consistently by VACUUM INTO while it runs (README: backing up)", async () => {
    const path = freshPath();
    const ledger = await SqliteLedger.open({ path });
    const backup = join(root, `backup-${++n}.db`);
    try {
      const records = Array.from({ length: 30 }, () => newRecord({ uid: "u-backup" }));
      for (const r of records.slice(0, 20)) await ledger.record(r, { uploadStartedAt: T0 });
      // Writes keep coming while another connection takes the copy.
      const writing = Promise.all(
        records.slice(20).map((r) => ledger.record(r, { uploadStartedAt: T0 })),
      );
      const raw = new DatabaseSync(path);
      try {
        raw.exec(`VACUUM INTO '${backup}'`);
      } finally {
        raw.close();
      }
      await writing;
    } finally {
      await ledger.close();
    }
    const restored = await SqliteLedger.open({ path: backup });
    try {
      const { files } = await restored.usage("u-backup", T0);
      // A consistent snapshot: the counters agree with the records it holds.
      expect(files).toBeGreaterThanOrEqual(20);
      expect((await restored.listByUid("u-backup", { limit: 1000 })).items).toHaveLength(files);
      expect((await restored.migrations()).length).toBeGreaterThan(0);
    } finally {
      await restored.close();
    }
  });

  it("answers requests made just before close(), then lets go of the file", async () => {
    const ledger = await SqliteLedger.open({ path: freshPath(), durable: false });
    const r = newRecord();
    const recorded = ledger.record(r, { uploadStartedAt: T0 });
    const closed = ledger.close();
    expect((await recorded).status).toBe("recorded");
    await closed;
    // The last connection to close checkpoints and deletes the WAL: none is left open.
    await expect(stat(`${ledger.path}-wal`)).rejects.toMatchObject({ code: "ENOENT" });
    await expectLedgerError(ledger.get(r.key), "Unavailable");
    const reopened = await SqliteLedger.open({ path: ledger.path });
    try {
      expect((await reopened.get(r.key))?.key).toBe(r.key);
    } finally {
      await reopened.close();
    }
  });
});
