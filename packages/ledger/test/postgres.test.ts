import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { POSTGRES_BIN, startPostgres, type PostgresServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeLedgerConformance,
  expectLedgerError,
  newRecord,
  T0,
} from "../src/conformance/index.ts";
import { openLedger, PostgresLedger } from "../src/index.ts";

const run = promisify(execFile);

let pg: PostgresServer;
let n = 0;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(() => pg?.stop());

const freshDatabase = () => pg.createDatabase(`ledger_${++n}`);

describeLedgerConformance({
  name: "postgres",
  database: async () => {
    const url = await freshDatabase();
    // No drop: the whole cluster goes with the test server, and a DROP DATABASE costs a
    // checkpoint per test.
    return { open: () => PostgresLedger.open({ url, poolSize: 8 }) };
  },
  outage: { down: () => pg.down(), up: () => pg.up() },
});

describe("PostgresLedger", () => {
  it("opens through openLedger and survives the server killing its connections", async () => {
    const url = await freshDatabase();
    const ledger = await openLedger({ kind: "postgres", url });
    try {
      expect(ledger.kind).toBe("postgres");
      const r = newRecord();
      await ledger.record(r, { uploadStartedAt: T0 });
      const database = new URL(url).pathname.slice(1);
      const killed = await pg.psql(
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = '${database}' AND application_name = 'mediagate-ledger'`,
      );
      expect(Number(killed)).toBeGreaterThan(0);
      // The pool drops the dead connections and opens new ones.
      await expect(ledger.check()).resolves.toBeUndefined();
      expect((await ledger.get(r.key))?.key).toBe(r.key);
    } finally {
      await ledger.close();
    }
  });

  it("upgrades a version-1 ledger with an erasure running, which can then be leased", async () => {
    const url = await freshDatabase();
    const database = new URL(url).pathname.slice(1);
    const first = await PostgresLedger.open({ url });
    const job = await first.beginErasure("u-upgrade", T0);
    await first.close();
    // Back to version 1 as it was released: no lease columns, no version-2 row.
    await pg.psql(
      `ALTER TABLE mg_erasures DROP COLUMN runner, DROP COLUMN lease_until;
       DELETE FROM mg_migrations WHERE version = 2`,
      database,
    );
    const upgraded = await PostgresLedger.open({ url });
    try {
      expect((await upgraded.migrations()).map((m) => m.version)).toEqual([1, 2]);
      expect(await upgraded.unfinishedErasures()).toEqual([job]);
      const claim = { runner: "r", now: T0, leaseMs: 1000 };
      expect(await upgraded.claimErasure(job.id, claim)).toEqual(job);
      // The erasure functions written at version 1 return the table's new shape.
      expect(await upgraded.finishErasure(job.id, T0)).toMatchObject({ state: "finished" });
    } finally {
      await upgraded.close();
    }
  });

  it("keeps its tables to the mg_ prefix and its schema at the latest version", async () => {
    const url = await freshDatabase();
    const ledger = await PostgresLedger.open({ url });
    try {
      const database = new URL(url).pathname.slice(1);
      const tables = await pg.psql(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
        database,
      );
      expect(tables.trim()).toBe(
        "mg_erasures,mg_keys,mg_migrations,mg_objects,mg_reservations,mg_usage",
      );
      await pg.psql("INSERT INTO mg_migrations VALUES (999, 'future', 0)", database);
      await expectLedgerError(PostgresLedger.open({ url }), "Conflict");
    } finally {
      await ledger.close();
    }
  });

  it("fails Unavailable quickly where no server listens, and refuses a URL that is not postgres://", async () => {
    const url = new URL(pg.url);
    url.port = "1"; // nothing listens on port 1
    await expectLedgerError(
      PostgresLedger.open({ url: url.toString(), connectTimeoutMs: 2000 }),
      "Unavailable",
    );
    await expectLedgerError(PostgresLedger.open({ url: "mysql://localhost/x" }), "InvalidArgument");
  });

  it("is backed up by pg_dump and restored by pg_restore, functions included (README)", async () => {
    const url = await freshDatabase();
    const ledger = await PostgresLedger.open({ url });
    const dump = join(await mkdtemp(join(tmpdir(), "mediagate-pgdump-")), "ledger.dump");
    try {
      const r = newRecord({ uid: "u-backup" });
      await ledger.record(r, { uploadStartedAt: T0 });
      await run(join(POSTGRES_BIN, "pg_dump"), ["--format=custom", `--file=${dump}`, url]);
      const target = await freshDatabase();
      await run(join(POSTGRES_BIN, "pg_restore"), [`--dbname=${target}`, dump]);
      const restored = await PostgresLedger.open({ url: target });
      try {
        expect((await restored.get(r.key))?.sha256).toBe(r.sha256);
        expect((await restored.usage("u-backup", T0)).files).toBe(1);
        // The restored functions work: a commit goes through mg_record.
        const next = newRecord({ uid: "u-backup" });
        expect((await restored.record(next, { uploadStartedAt: T0 })).status).toBe("recorded");
      } finally {
        await restored.close();
      }
    } finally {
      await ledger.close();
      await rm(join(dump, ".."), { recursive: true, force: true });
    }
  });
});
