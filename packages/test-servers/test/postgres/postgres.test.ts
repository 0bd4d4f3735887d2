import { stat } from "node:fs/promises";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../src/postgres.ts";

/** Whether something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("startPostgres (test infrastructure)", () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.stop());

  it("answers SQL on a free loopback port, as a cluster owned by an unprivileged user", async () => {
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);
    expect(await pg.psql("SELECT 40 + 2")).toBe("42\n");
    expect(await pg.psql("SHOW fsync")).toBe("off\n");
    const owner = (await stat(pg.dataDir)).uid;
    if (process.getuid?.() === 0) expect(owner).not.toBe(0);
    else expect(owner).toBe(process.getuid?.());
  });

  it("creates databases and refuses names that are not plain identifiers", async () => {
    const url = await pg.createDatabase("ledger_one");
    expect(url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/ledger_one`);
    expect(await pg.psql("SELECT current_database()", "ledger_one")).toBe("ledger_one\n");
    await expect(pg.createDatabase('x"; DROP DATABASE postgres; --')).rejects.toThrow(
      /plain lowercase identifier/,
    );
  });

  it("goes down and comes back up on the same port with its data", async () => {
    await pg.psql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)");
    await pg.down();
    expect(await listening(pg.port)).toBe(false);
    await expect(pg.psql("SELECT 1")).rejects.toThrow(/psql failed/);
    await pg.up();
    expect(await listening(pg.port)).toBe(true);
    expect(await pg.psql("SELECT v FROM kept")).toBe("7\n");
  });

  it("stop() ends the server and removes its folder, and is idempotent", async () => {
    const other = await startPostgres();
    await other.stop();
    expect(await listening(other.port)).toBe(false);
    await expect(stat(other.dataDir)).rejects.toMatchObject({ code: "ENOENT" });
    await other.stop();
    await expect(other.up()).rejects.toThrow(/after stop/);
  });
});
