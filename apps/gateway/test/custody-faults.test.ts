/**
 * The ledger under faults, through real gateway processes on the local folder: a PostgreSQL
 * ledger that goes down and comes back (uploads 503, /readyz fails, both recover without a
 * restart, and nothing unrecorded is left in storage), and an erasure cut short by a crash,
 * resumed by the next start.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startPostgres, type PostgresServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN } from "./support/backend-session.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { filesUnder } from "./support/files.ts";
import { postForm, send } from "./support/http.ts";
import type { Part } from "./support/multipart.ts";

const ADMIN = "custody-faults-admin-0123456789";

const form = (uid: string, mid: string): Part[] => [
  { name: "op", value: "upload" },
  { name: "auth", value: TOKEN },
  { name: "uid", value: uid },
  { name: "mid", value: mid },
  { name: "file", filename: "a.bin", type: "application/octet-stream", body: randomBytes(200) },
];

/** Object files under the store (the ledger and the adapter's bookkeeping aside). */
async function objects(root: string): Promise<string[]> {
  return (await filesUnder(root)).filter((path) => !path.includes("/.mediagate"));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-custody-faults-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a PostgreSQL ledger that goes down", () => {
  let postgres: PostgresServer;
  let gateway: GatewayProcess;
  const root = () => join(dir, "pg-store");

  beforeAll(async () => {
    postgres = await startPostgres();
    gateway = await startGatewayProcess({
      FS_ROOT: root(),
      AUTH_TOKENS: TOKEN,
      LEDGER_URL: await postgres.createDatabase("down_and_back"),
    });
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    await postgres?.stop();
  });

  it("makes uploads answer 503 JSON and /readyz fail, storing nothing, then recovers", async () => {
    expect((await postForm(`${gateway.url}/upload`, form("1", "1"))).status).toBe(200);
    const stored = await objects(root());
    await postgres.down();
    try {
      const refused = await postForm(`${gateway.url}/upload`, form("1", "2"));
      expect(refused.status).toBe(503);
      expect(refused.json).toMatchObject({ result: false, error: { code: "LEDGER_UNAVAILABLE" } });
      const ready = await send(`${gateway.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.json).toMatchObject({ result: false, error: { code: "LEDGER_UNAVAILABLE" } });
      // The object written before the ledger refused was removed again.
      await expect.poll(() => objects(root())).toEqual(stored);
    } finally {
      await postgres.up();
    }
    await expect
      .poll(async () => (await send(`${gateway.url}/readyz`)).status, { timeout: 20_000 })
      .toBe(200);
    expect((await postForm(`${gateway.url}/upload`, form("1", "3"))).status).toBe(200);
  });
});

describe("an erasure cut short by a crash", () => {
  it("is resumed by the next start and finishes, leaving none of the uid's objects", async () => {
    const root = join(dir, "erase-store");
    const env = {
      FS_ROOT: root,
      AUTH_TOKENS: TOKEN,
      ADMIN_TOKENS: ADMIN,
      LEDGER_PATH: join(dir, "erase-ledger.db"),
    };
    let gateway = await startGatewayProcess(env);
    const keys: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await postForm(`${gateway.url}/upload`, form("9", String(i)));
      keys.push((answer.json as { url: string }).url.split("/files/")[1] ?? "");
    }
    const keeper = await postForm(`${gateway.url}/upload`, form("10", "99"));
    expect(keeper.status).toBe(200);
    // The last object's folder read-only: the erasure removes the others, then stops there.
    const stuck = dirname(join(root, keys[5] ?? ""));
    execFileSync("mount", ["--bind", stuck, stuck]);
    execFileSync("mount", ["-o", "remount,ro,bind", stuck]);
    try {
      const begun = await send(`${gateway.url}/admin/uids/9/erase`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(begun.status).toBe(202);
      const job = (begun.json as { erasure: { id: string } }).erasure.id;
      await expect
        .poll(() => gateway.logs().some((l) => l.msg === "erasure stopped; it is retried shortly"))
        .toBe(true);
      const progress = await send(`${gateway.url}/admin/erasures/${job}`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(progress.json).toMatchObject({ erasure: { state: "running" } });
      gateway.signal("SIGKILL");
      await gateway.exited;
    } finally {
      execFileSync("umount", [stuck]);
    }
    gateway = await startGatewayProcess(env);
    try {
      // At start; or, had the killed process retaken the job just before it died, once that
      // lease ran out (30 s) at the next look for jobs (every 15 s).
      await expect
        .poll(
          () =>
            gateway
              .logs()
              .find((l) =>
                ["resuming unfinished erasures", "took over erasures"].includes(String(l.msg)),
              ),
          { timeout: 60_000 },
        )
        .toBeDefined();
      const keeperKey = (keeper.json as { url: string }).url.split("/files/")[1] ?? "";
      await expect.poll(() => objects(root)).toEqual([join(root, keeperKey)]);
      // Each object leaves storage first, then its record: the listing empties a moment later.
      const listing = async () =>
        (
          await send(`${gateway.url}/admin/uids/9/files`, {
            headers: { authorization: `Bearer ${ADMIN}` },
          })
        ).json;
      await expect.poll(listing).toMatchObject({ result: true, files: [] });
    } finally {
      await gateway.stop();
    }
  }, 120_000);
});
