/**
 * `mediagate ledger verify [--repair]` as an operator runs it, on a local folder with the
 * SQLite ledger a gateway wrote: storage and ledger drifted apart behind the gateway's back
 * (an object file deleted by hand, an object restored from a backup without its record, a
 * file nobody uploaded), found, then repaired.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { FsAdapter } from "@mediagate/fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN } from "./support/backend-session.ts";
import { startGatewayProcess } from "./support/gateway-process.ts";
import { postForm } from "./support/http.ts";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../src/main.ts");

let dir: string;
let env: Record<string, string>;
const keys: string[] = [];

function verify(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=source", MAIN, "ledger", "verify", ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, cwd: dir },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-ledger-cli-"));
  env = { FS_ROOT: join(dir, "store"), LEDGER_PATH: join(dir, "ledger.db"), AUTH_TOKENS: TOKEN };
  const gateway = await startGatewayProcess(env);
  try {
    for (const mid of ["1", "2", "3"]) {
      const answer = await postForm(`${gateway.url}/upload`, [
        { name: "op", value: "upload" },
        { name: "auth", value: TOKEN },
        { name: "uid", value: "42" },
        { name: "mid", value: mid },
        { name: "file", filename: "a.txt", type: "text/plain", body: `file ${mid}` },
      ]);
      keys.push((answer.json as { url: string }).url.split("/files/")[1] ?? "");
    }
  } finally {
    await gateway.stop();
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("mediagate ledger verify", () => {
  it("finds storage and ledger consistent after normal uploads", async () => {
    const { code, stdout } = await verify();
    expect(code).toBe(0);
    expect(stdout).toContain("3 objects in storage, 3 records in the ledger");
  });

  it("reports drift, repairs what it can with --repair, and leaves what is not the gateway's", async () => {
    const store = new FsAdapter({ root: env.FS_ROOT as string });
    // A record whose object was deleted by hand.
    await unlink(join(env.FS_ROOT as string, keys[0] ?? ""));
    // An object of the gateway's restored without its record (its metadata says what it is).
    const restored = `ab/2026/01/02/ab${"1".repeat(38)}.txt`;
    await store.write(restored, Readable.from([Buffer.from("restored")]), {
      contentType: "text/plain",
      metadata: {
        uid: "42",
        mid: "9",
        source: "0",
        filename: "r.txt",
        size: "8",
        sha256: "0".repeat(64),
      },
    });
    // A file nobody uploaded, copied into the folder.
    const foreign = `cd/2026/01/02/cd${"2".repeat(38)}.bin`;
    await mkdir(dirname(join(env.FS_ROOT as string, foreign)), { recursive: true });
    await writeFile(join(env.FS_ROOT as string, foreign), "?");

    const found = await verify();
    expect(found.code).toBe(1);
    expect(found.stdout).toContain("2 objects without a record");
    expect(found.stdout).toContain(restored);
    expect(found.stdout).toContain("1 records without an object");
    expect(found.stdout).toContain(keys[0]);

    const repaired = await verify("--repair");
    expect(repaired.stdout).toContain("2 repaired");
    expect(repaired.stdout).toContain(
      `1 objects not stored by the gateway, left alone:\n  ${foreign}`,
    );
    expect(repaired.code).toBe(1);

    await unlink(join(env.FS_ROOT as string, foreign));
    const after = await verify();
    expect(after.code).toBe(0);
    expect(after.stdout).toContain("3 objects in storage, 3 records in the ledger");
  });

  it("refuses to run without a ledger, in one line", async () => {
    const saved = env;
    env = { ...env, LEDGER: "off" };
    try {
      const { code, stderr } = await verify();
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(/LEDGER=off/);
    } finally {
      env = saved;
    }
  });
});
