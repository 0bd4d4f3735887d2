/**
 * `mediagate migrate --to target.env` as an operator runs it: a gateway on a local folder with
 * the SQLite ledger stores plain and encrypted uploads, the command moves them to S3 (s3rver
 * behind the signature-checking proxy), survives a SIGKILL mid-way, and the gateway switched
 * to S3 on the same ledger serves every old download URL with the same bytes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, unlink, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isStorageError, type StorageAdapter } from "@mediagate/core";
import { FsAdapter } from "@mediagate/fs";
import { openLedger, type LedgerRecord } from "@mediagate/ledger";
import { startS3TestServer, type S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { humanBytes } from "../src/migrate/progress.ts";
import { s3Provider } from "../src/storage/providers/s3.ts";
import { TOKEN } from "./support/backend-session.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { postForm, send } from "./support/http.ts";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../src/main.ts");
const BUCKET = "mediagate-migrated";

interface Stored {
  key: string;
  /** The download URL's path: the same on any gateway. */
  path: string;
  /** What the gateway on fs served for it: the bytes and type every later download must match. */
  body: Buffer;
  contentType: string;
}

let dir: string;
let s3: S3TestServer;
/** The gateway's configuration (on fs); the CLI runs with the same. */
let env: Record<string, string>;
/** The same without encryption (ENCRYPTION_KEYS is refused with ENCRYPTION=off). */
let plainEnv: Record<string, string>;
let targetEnv: Record<string, string>;
let targetFile: string;
let target: StorageAdapter;
let source: FsAdapter;
const stored: Stored[] = [];

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `mediagate <args>` from the sources, in the test's folder; `started` sees the child. */
function cli(args: string[], started?: (child: ChildProcess) => void): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--conditions=source", MAIN, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (c: string) => out.push(c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => err.push(c));
    child.once("close", (code, signal) =>
      resolve({ code, signal, stdout: out.join(""), stderr: err.join("") }),
    );
    started?.(child);
  });
}

const migrateCli = (...args: string[]) => cli(["migrate", "--to", targetFile, ...args]);

async function upload(
  gateway: GatewayProcess,
  mid: string,
  file: { name: string; type: string; body: Buffer },
): Promise<Stored> {
  const answer = await postForm(`${gateway.url}/upload`, [
    { name: "op", value: "upload" },
    { name: "auth", value: TOKEN },
    { name: "uid", value: "42" },
    { name: "mid", value: mid },
    { name: "file", filename: file.name, type: file.type, body: file.body },
  ]);
  expect(answer.status, answer.text).toBe(200);
  const url = new URL((answer.json as { url: string }).url);
  const download = await send(`${gateway.url}${url.pathname}`);
  expect(download.status).toBe(200);
  expect(download.body.equals(file.body)).toBe(true);
  return {
    key: url.pathname.split("/files/")[1] ?? "",
    path: url.pathname,
    body: download.body,
    contentType: String(download.headers["content-type"]),
  };
}

async function ledgerRecords(): Promise<LedgerRecord[]> {
  const ledger = await openLedger({ kind: "sqlite", path: env.LEDGER_PATH ?? "" });
  try {
    return (await ledger.listAll({ limit: 1000 })).items;
  } finally {
    await ledger.close();
  }
}

/** Object writes on the target: single requests, and the first request of multipart ones. */
const targetWrites = () =>
  s3.proxy.requests.filter(
    (r) => r.operation === "PutObject" || r.operation === "CreateMultipartUpload",
  ).length;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-migrate-"));
  s3 = await startS3TestServer({ buckets: [] });
  env = {
    FS_ROOT: join(dir, "store"),
    LEDGER_PATH: join(dir, "ledger.db"),
    SPOOL_DIR: join(dir, "spool"),
    AUTH_TOKENS: TOKEN,
  };
  plainEnv = { ...env };
  const encryption = {
    ENCRYPTION: "on",
    ENCRYPTION_KEYS: (await cli(["keys", "generate"])).stdout.trim(),
  };
  targetEnv = {
    STORAGE_PROVIDER: "s3",
    S3_BUCKET: BUCKET,
    S3_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    STORAGE_CREATE_BUCKET: "true",
  };
  targetFile = join(dir, "target.env");
  await writeFile(
    targetFile,
    Object.entries(targetEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
  );
  target = await s3Provider.create(s3Provider.env.parse(targetEnv), { createBucket: false });
  source = new FsAdapter({ root: env.FS_ROOT ?? "" });

  // Plain uploads: small files, an HTML page (stored with an attachment disposition) and one
  // larger than S3's part size, which the target writes as a multipart upload.
  let gateway = await startGatewayProcess(env, { cwd: dir });
  try {
    for (let i = 0; i < 8; i++) {
      const body = randomBytes(20_000 + i * 5_000);
      stored.push(
        await upload(gateway, `${100 + i}`, {
          name: `f${i}.bin`,
          type: "application/octet-stream",
          body,
        }),
      );
    }
    const page = Buffer.from("<!doctype html><title>hi</title><p>a page</p>");
    stored.push(await upload(gateway, "200", { name: "page.html", type: "text/html", body: page }));
    const large = randomBytes(6 * 1024 * 1024 + 123);
    stored.push(
      await upload(gateway, "201", {
        name: "large.bin",
        type: "application/octet-stream",
        body: large,
      }),
    );
  } finally {
    await gateway.stop();
  }
  // Encrypted uploads: the store holds ciphertext, which is copied as it is.
  gateway = await startGatewayProcess({ ...env, ...encryption }, { cwd: dir });
  try {
    for (let i = 0; i < 3; i++) {
      const body = randomBytes(10_000 + i * 150_000);
      stored.push(
        await upload(gateway, `${300 + i}`, {
          name: `e${i}.bin`,
          type: "application/octet-stream",
          body,
        }),
      );
    }
    stored.push(
      await upload(gateway, "400", {
        name: "note.txt",
        type: "text/plain",
        body: Buffer.from("an encrypted note\n"),
      }),
    );
  } finally {
    await gateway.stop();
  }
  env = { ...env, ...encryption };
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("mediagate migrate", () => {
  it("refuses a target file it cannot use, in one sentence naming the variable", async () => {
    const file = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    const [missing, sameKind, itself] = await Promise.all([
      cli(["migrate", "--to", await file("bad.env", "STORAGE_PROVIDER=s3\nS3_REGION=us-east-1\n")]),
      // Another folder is the same kind of backend: only on request.
      cli([
        "migrate",
        "--to",
        await file("other.env", `STORAGE_PROVIDER=fs\nFS_ROOT=${join(dir, "other")}\n`),
      ]),
      // The folder the gateway uses now is no target at all, forced or not.
      cli([
        "migrate",
        "--to",
        await file("itself.env", `STORAGE_PROVIDER=fs\nFS_ROOT=${env.FS_ROOT}\n`),
        "--force-same-kind",
      ]),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/bad\.env: S3_BUCKET is required/);
    expect(sameKind.code).toBe(2);
    expect(sameKind.stderr).toMatch(/the target is fs, like the source: pass --force-same-kind/);
    expect(itself.code).toBe(2);
    expect(itself.stderr).toMatch(/the store the gateway uses now/);
    expect(targetWrites()).toBe(0);
  });

  it("--dry-run counts what would be copied and writes nothing", async () => {
    const run = await migrateCli("--dry-run");
    expect(run.code, run.stderr).toBe(0);
    const bytes = stored.reduce((n, s) => n + s.body.length, 0);
    expect(run.stdout).toContain(`would copy ${stored.length} objects, ${humanBytes(bytes)}`);
    expect(run.stdout).toContain("does not exist yet: a real run creates it");
    expect(run.stdout).toContain(stored[0]?.key);
    const writes = s3.proxy.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
    expect(writes.map((r) => r.operation)).toEqual([]);
    expect((await ledgerRecords()).every((r) => r.backend === "fs")).toBe(true);
  });

  it("stops at once on SIGINT, leaving no copy the ledger does not point at", async () => {
    let arrived!: () => void;
    const first = new Promise<void>((resolve) => (arrived = resolve));
    // The first single-request write hangs (one object at a time, so nothing else is in
    // flight): the interrupt aborts it. (The large file, should it come first, is copied.)
    const fault = s3.proxy.injectFault({
      match: (r) => {
        if (r.operation === "PutObject") arrived();
        return r.operation === "PutObject";
      },
      fault: { type: "hang" },
      times: 1,
    });
    let child: ChildProcess | undefined;
    const interrupted = cli(
      ["migrate", "--to", targetFile, "--concurrency", "1"],
      (c) => (child = c),
    );
    await Promise.race([first, interrupted]);
    child?.kill("SIGINT");
    const run = await interrupted;
    fault.remove();
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain("stopped early: interrupted; run it again to go on");
    expect(run.stdout).toContain("failed: 0");
    const moved = (await ledgerRecords()).filter((r) => r.backend === "s3").map((r) => r.key);
    expect(moved.length).toBeLessThan(stored.length);
    expect((await s3.objects(BUCKET)).sort()).toEqual(moved.sort());
  });

  it("resumes after being killed mid-way, copying only what was left", async () => {
    const already = (await ledgerRecords()).filter((r) => r.backend === "s3").length;
    const before = already + 5;
    let writes = 0;
    let arrived!: () => void;
    const hung = new Promise<void>((resolve) => (arrived = resolve));
    // The sixth object's write never gets an answer; the command is killed while it waits.
    const fault = s3.proxy.injectFault({
      match: (r) => {
        if (r.operation !== "PutObject" && r.operation !== "CreateMultipartUpload") return false;
        if (++writes <= before - already) return false;
        arrived();
        return true;
      },
      fault: { type: "hang" },
      times: 1,
    });
    let child: ChildProcess | undefined;
    const killed = cli(["migrate", "--to", targetFile, "--concurrency", "1"], (c) => (child = c));
    await Promise.race([hung, killed]);
    child?.kill("SIGKILL");
    const crash = await killed;
    fault.remove();
    expect(crash.signal, crash.stderr).toBe("SIGKILL");
    // One at a time: each of the five was verified and recorded before the next began.
    const moved = (await ledgerRecords()).filter((r) => r.backend === "s3");
    expect(moved).toHaveLength(before);

    s3.proxy.clear();
    const rerun = await migrateCli();
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain(`${stored.length - before} copied`);
    expect(rerun.stdout).toContain(`skipped: ${before} already on s3`);
    expect(rerun.stdout).toContain("failed: 0");
    expect(targetWrites()).toBe(stored.length - before);
  });

  it("leaves every object on the target byte for byte, described the same, and the ledger pointing at it", async () => {
    const records = await ledgerRecords();
    expect(records.map((r) => r.backend)).toEqual(records.map(() => "s3"));
    expect(records.map((r) => r.key).sort()).toEqual(stored.map((s) => s.key).sort());
    let encrypted = 0;
    for (const { key, body } of stored) {
      const [from, to] = await Promise.all([source.read(key), target.read(key)]);
      const [a, b] = await Promise.all([readAll(from.body), readAll(to.body)]);
      expect(b.equals(a), key).toBe(true);
      expect(to.info.contentType).toBe(from.info.contentType);
      expect(to.info.contentDisposition).toBe(from.info.contentDisposition);
      expect(to.info.metadata).toEqual(from.info.metadata);
      if (from.info.metadata.enc !== undefined) {
        encrypted++;
        expect(b.equals(body)).toBe(false);
      } else {
        expect(b.equals(body)).toBe(true);
      }
    }
    expect(encrypted).toBe(4);
    expect(stored.some((s) => s.contentType.startsWith("text/html"))).toBe(true);
  });

  it("copies nothing on a second run", async () => {
    s3.proxy.clear();
    const again = await migrateCli();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`0 copied`);
    expect(again.stdout).toContain(`skipped: ${stored.length} already on s3`);
    expect(targetWrites()).toBe(0);
  });

  it("lists the objects it could not copy, leaves no unverified copy, and exits 1", async () => {
    // Plaintext objects, whose bytes the ledger's SHA-256 describes.
    const gateway = await startGatewayProcess(plainEnv, { cwd: dir });
    const extra: Stored[] = [];
    try {
      for (const mid of ["501", "502", "503"]) extra.push(await uploadPlain(gateway, mid));
    } finally {
      await gateway.stop();
    }
    const [damaged, gone, fine] = extra as [Stored, Stored, Stored];
    // Same length, one byte changed: only the hash tells.
    const path = join(env.FS_ROOT ?? "", damaged.key);
    const bytes = await readFile(path);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    await unlink(join(env.FS_ROOT ?? "", gone.key));

    const run = await migrateCli();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("1 copied");
    expect(run.stdout).toContain("failed: 2");
    expect(run.stdout).toContain(
      `${damaged.key}: the source's bytes no longer hash to the SHA-256`,
    );
    expect(run.stdout).toContain(`${gone.key}: the source has no such object`);
    await expect(target.stat(damaged.key)).rejects.toSatisfy((e) => isStorageError(e, "NotFound"));
    expect((await target.stat(fine.key)).size).toBe(fine.body.length);
    const records = new Map((await ledgerRecords()).map((r) => [r.key, r.backend]));
    expect([records.get(damaged.key), records.get(gone.key), records.get(fine.key)]).toEqual([
      "fs",
      "fs",
      "s3",
    ]);
  });

  it("serves every old download URL with the same bytes once the gateway is switched to the target", async () => {
    const gateway = await startGatewayProcess({ ...env, ...targetEnv }, { cwd: dir });
    try {
      for (const { path, body, contentType, key } of stored) {
        const answer = await send(`${gateway.url}${path}`);
        expect(answer.status, key).toBe(200);
        expect(answer.body.equals(body), key).toBe(true);
        expect(answer.headers["content-type"]).toBe(contentType);
      }
    } finally {
      await gateway.stop();
    }
    // The source is left as it was: the operator removes it once satisfied.
    for (const { key } of stored) expect((await source.stat(key)).key).toBe(key);
  });
});

async function uploadPlain(gateway: GatewayProcess, mid: string): Promise<Stored> {
  return upload(gateway, mid, {
    name: `${mid}.bin`,
    type: "application/octet-stream",
    body: randomBytes(30_000),
  });
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
