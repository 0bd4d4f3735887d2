/**
 * Rate limits in detail, on fs (the per-backend cases are in download-modes.test.ts): what is
 * counted, by which key, what a refusal answers and that it leaves storage untouched, and how
 * TRUST_PROXY decides the client address.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fsBackend } from "./backends/fs.ts";
import { BackendSession } from "./support/backend-session.ts";
import { expectRateLimited, expectRefusal, uploadForm, uploadedUrl } from "./support/forms.ts";
import { postForm, send } from "./support/http.ts";

describe("rate limits behind a trusted proxy (TRUST_PROXY=1)", () => {
  const session = new BackendSession(fsBackend);
  let client = 0;
  /** A fresh client address per test, so the per-address limit of one never leaks into another. */
  const newClient = () => ({ "X-Forwarded-For": `198.51.100.${++client}` });
  const upload = (headers: Record<string, string>, ...args: Parameters<typeof uploadForm>) =>
    postForm(`${session.gateway.url}/upload`, uploadForm(...args), headers);

  beforeAll(
    () =>
      session.start({
        TRUST_PROXY: "1",
        RATE_LIMIT_UPLOADS_PER_MINUTE: "2",
        RATE_LIMIT_IP_PER_MINUTE: "3",
        RATE_LIMIT_DOWNLOADS_PER_MINUTE: "3",
      }),
    60_000,
  );
  afterAll(() => session.stop(), 60_000);

  it("refuses a uid's third upload in a minute with 429 and stores nothing", async () => {
    const [a, b, c] = [newClient(), newClient(), newClient()];
    uploadedUrl(await upload(a, { uid: "100" }));
    uploadedUrl(await upload(b, { uid: "100" }));
    const before = await session.inventory();
    const refused = await upload(c, { uid: "100" }, { body: Buffer.alloc(256 * 1024, 1) });
    expectRateLimited(refused);
    expect(refused.json).toMatchObject({ error: { message: expect.stringMatching(/uid/) } });
    await session.expectUntouched(before);
    // Another uid is not affected.
    uploadedUrl(await upload(c, { uid: "101" }));
  });

  it("refuses a file sent before its fields without storing or keeping a spooled copy", async () => {
    const [a, b, c] = [newClient(), newClient(), newClient()];
    uploadedUrl(await upload(a, { uid: "200" }, undefined, { fileFirst: true }));
    uploadedUrl(await upload(b, { uid: "200" }));
    const before = await session.inventory();
    expectRateLimited(await upload(c, { uid: "200" }, undefined, { fileFirst: true }));
    await session.expectUntouched(before);
  });

  it("counts a uid only once the token checks out, so nobody can use up another's quota", async () => {
    for (let i = 0; i < 3; i++) {
      expectRefusal(
        await upload(newClient(), { uid: "300", auth: "not-the-token-0123456789" }),
        401,
        "UNAUTHORIZED",
      );
    }
    uploadedUrl(await upload(newClient(), { uid: "300" }));
    uploadedUrl(await upload(newClient(), { uid: "300" }));
    expectRateLimited(await upload(newClient(), { uid: "300" }));
  });

  it("limits upload requests per client address, authenticated or not", async () => {
    const client = newClient();
    uploadedUrl(await upload(client, { uid: "400" }));
    expectRefusal(
      await upload(client, { uid: "401", auth: "wrong-token-0123456789" }),
      401,
      "UNAUTHORIZED",
    );
    uploadedUrl(await upload(client, { uid: "402" }));
    const before = await session.inventory();
    expectRateLimited(await upload(client, { uid: "403" }));
    await session.expectUntouched(before);
    // The next address in X-Forwarded-For's chain is a different client.
    uploadedUrl(await upload(newClient(), { uid: "403" }));
  });

  it("limits downloads (GET and HEAD) per client address; health is never limited", async () => {
    const url = session.local(uploadedUrl(await upload(newClient(), { uid: "500" })));
    const client = newClient();
    expect((await send(url, { headers: client })).status).toBe(200);
    expect((await send(url, { method: "HEAD", headers: client })).status).toBe(200);
    expect((await send(url, { headers: { ...client, Range: "bytes=0-1" } })).status).toBe(206);
    const refused = await send(url, { headers: client });
    expectRateLimited(refused);
    expect(refused.headers["cache-control"]).toBe("no-store");
    expect((await send(url, { headers: newClient() })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await send(`${session.gateway.url}/healthz`, { headers: client })).status).toBe(200);
    }
  });
});

describe("rate limits without a trusted proxy (TRUST_PROXY unset)", () => {
  const session = new BackendSession(fsBackend);
  beforeAll(() => session.start({ RATE_LIMIT_IP_PER_MINUTE: "2" }), 60_000);
  afterAll(() => session.stop(), 60_000);

  it("ignores X-Forwarded-For, so a client cannot dodge its limit by inventing addresses", async () => {
    const upload = (n: number) =>
      postForm(`${session.gateway.url}/upload`, uploadForm({ uid: String(n) }), {
        "X-Forwarded-For": `203.0.113.${n}`,
      });
    uploadedUrl(await upload(1));
    uploadedUrl(await upload(2));
    const before = await session.inventory();
    expectRateLimited(await upload(3));
    await session.expectUntouched(before);
  });
});
