/**
 * Several gateways, proven on one machine: three gateway processes behind Debian's nginx
 * (round-robin, with the proxy settings docker-compose's `scaled` profile ships), sharing one
 * Redis (rate limits), one PostgreSQL ledger (records, quotas, retention claims) and one S3
 * store (s3rver). Uploads through any entry point download through every other; limits and
 * quotas hold across instances; concurrent retention sweeps delete each object once; and a
 * rolling restart under steady upload load loses no upload and leaves nothing behind.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  startPostgres,
  startS3TestServer,
  type PostgresServer,
  type S3TestServer,
} from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN } from "./support/backend-session.ts";
import { expectRateLimited, expectRefusal, uploadForm } from "./support/forms.ts";
import { GatewayCluster } from "./support/gateway-cluster.ts";
import { postForm, send, type Answer } from "./support/http.ts";
import { startNginx, type Nginx } from "./support/nginx.ts";
import { startRedisServer, type RedisServer } from "./support/redis-server.ts";
import { UploadLoad } from "./support/upload-load.ts";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../src/main.ts");
const BUCKET = "mediagate-scale";
const ADMIN = "scale-admin-token-0123456789";
const QUOTA = 4;
const RATE = 3;

let redis: RedisServer | undefined;
let postgres: PostgresServer | undefined;
let s3: S3TestServer | undefined;
let nginx: Nginx;
let cluster: GatewayCluster;
let env: Record<string, string>;

/** nginx, then each instance directly: every way in. */
const entryPoints = () => [nginx.url, ...cluster.ports.map((_, i) => cluster.url(i))];
const keyOf = (url: string) => new URL(url).pathname.split("/files/")[1] ?? "";

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>) {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

function expectStored(answer: Answer): string {
  expect({ status: answer.status, json: answer.json }).toMatchObject({
    status: 200,
    json: { result: true, url: expect.any(String) },
  });
  return (answer.json as { url: string }).url;
}

/** `mediagate ledger verify` against the cluster's store and ledger, as an operator runs it. */
function ledgerVerify(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=source", MAIN, "ledger", "verify"],
      { env: { PATH: process.env.PATH ?? "", ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  [redis, postgres, s3] = await Promise.all([
    startRedisServer(),
    startPostgres(),
    startS3TestServer({ buckets: [] }),
  ]);
  env = {
    STORAGE_PROVIDER: "s3",
    S3_BUCKET: BUCKET,
    S3_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    // All three create the bucket at once at start: a race the adapter must take calmly.
    STORAGE_CREATE_BUCKET: "true",
    AUTH_TOKENS: TOKEN,
    TRUST_PROXY: "1",
    REDIS_URL: redis.url,
    LEDGER_URL: await postgres.createDatabase("scale_out"),
    ADMIN_TOKENS: ADMIN,
    RETENTION: "thumbnail:1d",
    // Only the sweeps the test asks for (the start-up one finds nothing expired).
    RETENTION_SWEEP_INTERVAL: "1h",
    RETENTION_RATE: "100000",
    QUOTA_FILES_PER_DAY: String(QUOTA),
    SHUTDOWN_TIMEOUT: "10s",
  };
  cluster = new GatewayCluster(env);
  await cluster.prepare(3);
  nginx = await startNginx(cluster.ports);
  await cluster.startAll();
}, 90_000);

afterAll(async () => {
  await Promise.allSettled([cluster?.stop(), nginx?.stop()]);
  await Promise.allSettled([redis?.stop(), postgres?.stop(), s3?.stop()]);
}, 60_000);

describe("three gateways behind nginx", () => {
  it("downloads an upload made through any entry point through every other", async () => {
    for (const [i, entry] of entryPoints().entries()) {
      const body = randomBytes(100_000 + i);
      const url = expectStored(
        await postForm(`${entry}/upload`, uploadForm({ uid: `10${i}` }, { body })),
      );
      // Behind nginx, TRUST_PROXY makes the answer name the proxy's origin, not the instance's.
      expect(new URL(url).origin).toBe(entry);
      for (const other of entryPoints()) {
        const got = await send(`${other}/files/${keyOf(url)}`);
        expect(got.status, `${entry} → ${other}`).toBe(200);
        expect(got.body.equals(body), `${entry} → ${other}`).toBe(true);
      }
      const ranged = await send(`${nginx.url}/files/${keyOf(url)}`, {
        headers: { range: "bytes=1000-1999" },
      });
      expect(ranged.status).toBe(206);
      expect(ranged.body.equals(body.subarray(1000, 2000))).toBe(true);
    }
    // Round robin: nginx spread what went through it over all three.
    const used = new Set((await nginx.accessLog()).flatMap((line) => line.upstreams));
    expect(used).toEqual(new Set(cluster.ports.map((port) => `127.0.0.1:${port}`)));
  });

  it("keeps the admin API and the metrics off the public entry point", async () => {
    const admin = { authorization: `Bearer ${ADMIN}` };
    expect((await send(`${cluster.url(0)}/admin/uids/1/usage`, { headers: admin })).status).toBe(
      200,
    );
    expectRefusal(
      await send(`${nginx.url}/admin/uids/1/usage`, { headers: admin }),
      404,
      "NOT_FOUND",
    );
    expectRefusal(await send(`${nginx.url}/metrics`), 404, "NOT_FOUND");
  });

  it("holds a daily quota across instances under concurrent uploads", async () => {
    const attempts = 12;
    const answers = await Promise.all(
      Array.from({ length: attempts }, (_, i) => {
        const entry = entryPoints()[i % 4] as string;
        return postForm(`${entry}/upload`, uploadForm({ uid: "7001", mid: String(i) }));
      }),
    );
    const stored = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(stored).toHaveLength(QUOTA);
    for (const answer of refused) expectRefusal(answer, 429, "QUOTA_EXCEEDED_TODAY");
    for (const i of [0, 1, 2]) {
      const usage = await send(`${cluster.url(i)}/admin/uids/7001/usage`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(usage.json).toMatchObject({ usage: { files: QUOTA } });
    }
  });

  it("sweeps each expired object once when every instance sweeps at the same time", async () => {
    const thumbnails = await mapLimit(
      Array.from({ length: 130 }, (_, i) => i),
      8,
      async (i) =>
        keyOf(
          expectStored(
            await postForm(
              `${nginx.url}/upload`,
              uploadForm({ uid: `2${i}`, mid: String(i), source: "3" }, { body: randomBytes(64) }),
            ),
          ),
        ),
    );
    const kept = keyOf(
      expectStored(await postForm(`${nginx.url}/upload`, uploadForm({ uid: "3000", source: "0" }))),
    );
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const sweeps = await Promise.all(
      cluster.ports.map((_, i) =>
        send(`${cluster.url(i)}/admin/retention/sweep?now=${encodeURIComponent(later)}`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}` },
        }),
      ),
    );
    const removed = sweeps.map((answer) => {
      expect(answer.status, answer.text).toBe(200);
      return (answer.json as { removed: number }).removed;
    });
    expect(removed.reduce((a, b) => a + b, 0)).toBe(thumbnails.length);

    const deleted = cluster
      .allLogs()
      .filter((line) => line.audit === true && line.event === "retention.deleted")
      .map((line) => String(line.key));
    expect(deleted.toSorted()).toEqual(thumbnails.toSorted());
    const left = new Set(await s3?.objects(BUCKET));
    expect(thumbnails.filter((key) => left.has(key))).toEqual([]);
    expect(left.has(kept)).toBe(true);
  });

  it("erases a uid once when every instance is asked to at the same time", async () => {
    // Enough objects that the three requests overlap the run (the quota would allow four).
    await cluster.restartAll({ QUOTA_FILES_PER_DAY: "1000" });
    const keys = await mapLimit(
      Array.from({ length: 120 }, (_, i) => i),
      8,
      async (i) =>
        keyOf(
          expectStored(
            await postForm(
              `${nginx.url}/upload`,
              uploadForm({ uid: "9100", mid: String(i) }, { body: randomBytes(64) }),
            ),
          ),
        ),
    );
    const answers = await Promise.all(
      cluster.ports.map((_, i) =>
        send(`${cluster.url(i)}/admin/uids/9100/erase?wait=true`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}` },
        }),
      ),
    );
    const jobs = answers.map((answer) => {
      expect(answer.status, answer.text).toBe(200);
      return (answer.json as { erasure: { id: string; state: string; done: number } }).erasure;
    });
    // One job, run by one instance under its lease: done counts each object once.
    expect(new Set(jobs.map((job) => job.id)).size).toBe(1);
    for (const job of jobs) expect(job).toMatchObject({ state: "finished", done: keys.length });
    const finished = cluster
      .allLogs()
      .filter((line) => line.audit === true && line.event === "erase.uid.finished");
    expect(finished.filter((line) => line.uid === "9100")).toHaveLength(1);
    const left = new Set(await s3?.objects(BUCKET));
    expect(keys.filter((key) => left.has(key))).toEqual([]);
  });

  it("refuses a uid's upload past the rate limit whichever instance gets it", async () => {
    await cluster.restartAll({ RATE_LIMIT_UPLOADS_PER_MINUTE: String(RATE) });
    for (const i of [0, 1, 2]) {
      expectStored(await postForm(`${cluster.url(i)}/upload`, uploadForm({ uid: "8001" })));
    }
    for (const entry of entryPoints()) {
      expectRateLimited(await postForm(`${entry}/upload`, uploadForm({ uid: "8001" })));
    }
    // Per uid: another one is untouched.
    expectStored(await postForm(`${nginx.url}/upload`, uploadForm({ uid: "8002" })));
  });

  it("loses no upload and leaves nothing behind in a rolling restart under load", async () => {
    const before = new Set(await s3?.objects(BUCKET));
    const load = new UploadLoad(`${nginx.url}/upload`);
    load.start(4);
    const until = async (what: string, done: () => boolean) =>
      expect.poll(done, { timeout: 30_000, interval: 50, message: what }).toBe(true);
    try {
      await until("load under way", () => load.stored.length >= 20);
      const exits = [];
      for (const i of [0, 1, 2]) {
        const storedBefore = load.stored.length;
        exits.push(await cluster.restart(i));
        // Uploads went on being stored while this instance was away.
        expect(load.stored.length, `uploads during restart ${i}`).toBeGreaterThan(storedBefore);
      }
      // The load goes on until nginx has sent uploads to each new process.
      await until("every restarted instance takes uploads", () =>
        cluster.instances.every((gw) => gw.logs().some((l) => l.event === "upload")),
      );
      expect(exits).toEqual([0, 1, 2].map(() => ({ code: 0, signal: null })));
    } finally {
      await load.stop();
    }
    console.info(
      `rolling restart: ${load.stored.length} uploads, retried: ${JSON.stringify(load.retries)}`,
    );
    expect(load.unexpected).toEqual([]);
    // A stopping instance refuses new connections (nginx tries the next) and serves those it
    // had just accepted, so retries are rare: none in most runs, one 502 now and then under
    // CI load, which fits the kernel's own race (a connection completed but not yet accepted
    // when the listener closes is reset, and nginx cannot re-send a POST). Before the fixes
    // in http-server.ts and nginx.conf, every run saw 9–15.
    const retried = Object.values(load.retries).reduce((sum, n) => sum + n, 0);
    expect(retried, JSON.stringify(load.retries)).toBeLessThanOrEqual(2);
    // Every old process drained within SHUTDOWN_TIMEOUT, nothing aborted.
    for (const old of cluster.history.filter((gw) => !cluster.instances.includes(gw))) {
      const messages = old.logs().map((line) => line.msg);
      expect(messages).toContain("shut down");
      expect(messages).not.toContain("shutdown deadline passed: aborting in-flight requests");
    }

    // Each upload answered 200 downloads, byte for byte.
    const bad = await mapLimit(load.stored, 8, async (upload) => {
      const got = await send(upload.url);
      return got.status === 200 && got.body.equals(upload.body) ? [] : [upload.url];
    });
    expect(bad.flat()).toEqual([]);

    // Storage gained exactly the uploads answered 200: none lost, none stored unanswered.
    const after = new Set(await s3?.objects(BUCKET));
    const added = [...after].filter((key) => !before.has(key));
    expect(added.toSorted()).toEqual(load.stored.map((u) => keyOf(u.url)).toSorted());
    const verify = await ledgerVerify();
    expect(verify.stdout).toContain(`${after.size} objects in storage, ${after.size} records`);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(await cluster.spoolLeftovers()).toEqual([]);
    expect(await s3?.openUploads(BUCKET)).toEqual([]);
  }, 90_000);
});
