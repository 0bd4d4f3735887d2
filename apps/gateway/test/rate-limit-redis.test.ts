/**
 * Rate limits shared through a real redis-server: two gateway processes on one store and one
 * Redis enforce one limit, and a Redis outage degrades to per-instance limits (logged)
 * instead of refusing or blocking uploads.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUBLIC_BASE_URL, TOKEN } from "./support/backend-session.ts";
import { expectRateLimited, uploadForm, uploadedUrl } from "./support/forms.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { postForm } from "./support/http.ts";
import { startRedisServer, type RedisServer } from "./support/redis-server.ts";

describe("rate limits shared through Redis", () => {
  let redis: RedisServer;
  let root: string;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    redis = await startRedisServer();
    root = await mkdtemp(join(tmpdir(), "mediagate-redis-"));
    const env = {
      FS_ROOT: root,
      SPOOL_DIR: join(root, "spool"),
      AUTH_TOKENS: TOKEN,
      PUBLIC_BASE_URL,
      REDIS_URL: redis.url,
      RATE_LIMIT_UPLOADS_PER_MINUTE: "3",
    };
    [a, b] = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  }, 60_000);

  const upload = (gw: GatewayProcess, uid: string) =>
    postForm(`${gw.url}/upload`, uploadForm({ uid }));

  it("two gateway instances enforce one limit per uid", async () => {
    for (const gw of [a, b, a]) uploadedUrl(await upload(gw, "77"));
    expectRateLimited(await upload(b, "77"));
    expectRateLimited(await upload(a, "77"));
    uploadedUrl(await upload(b, "78"));
  });

  it("keeps uploading during a Redis outage, per instance, and logs the outage", async () => {
    await redis.stop();
    // In memory now: each instance counts on its own, so one uid gets 3 per instance.
    for (const gw of [a, a, a, b]) uploadedUrl(await upload(gw, "90"));
    expectRateLimited(await upload(a, "90"));
    const outage = (gw: GatewayProcess) =>
      gw.logs().some((line) => line.level === 50 && /Redis is unavailable/.test(String(line.msg)));
    expect(outage(a)).toBe(true);
    expect(outage(b)).toBe(true);
  });

  it("shares the limit again once Redis is back", async () => {
    redis = await startRedisServer({ port: redis.port });
    const reconnected = (gw: GatewayProcess) =>
      gw.logs().filter((line) => line.msg === "rate limits are shared through Redis").length;
    await expect
      .poll(() => [reconnected(a), reconnected(b)], { timeout: 15_000, interval: 100 })
      .toEqual([2, 2]);
    for (const gw of [b, a, b]) uploadedUrl(await upload(gw, "91"));
    expectRateLimited(await upload(a, "91"));
  });
});
