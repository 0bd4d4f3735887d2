/**
 * CORS (CORS_ORIGINS) at the HTTP level, through a real gateway process: preflights for
 * uploads and downloads, the headers actual answers carry (refusals included), a disallowed
 * origin getting none and never a 5xx, and `*`. Real browsers on another origin are driven
 * by packages/client's Chromium tests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN } from "./support/backend-session.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { postForm, send } from "./support/http.ts";
import type { Part } from "./support/multipart.ts";

const APP = "https://app.example.com";
const form = (auth = TOKEN): Part[] => [
  { name: "op", value: "upload" },
  { name: "auth", value: auth },
  { name: "mid", value: "1" },
  { name: "file", filename: "a.txt", type: "text/plain", body: "cors" },
];

let dir: string;
let gateway: GatewayProcess;
let open: GatewayProcess;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-cors-"));
  [gateway, open] = await Promise.all([
    startGatewayProcess({
      FS_ROOT: join(dir, "a"),
      AUTH_TOKENS: TOKEN,
      CORS_ORIGINS: `${APP},https://admin.example.com`,
    }),
    startGatewayProcess({ FS_ROOT: join(dir, "b"), AUTH_TOKENS: TOKEN, CORS_ORIGINS: "*" }),
  ]);
});
afterAll(async () => {
  await Promise.all([gateway?.stop(), open?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const preflight = (url: string, origin: string, method: string, headers = "content-type") =>
  send(url, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": headers,
    },
  });

describe("CORS_ORIGINS", () => {
  it("answers an upload preflight from an allowed origin", async () => {
    const answer = await preflight(`${gateway.url}/upload`, APP, "POST");
    expect(answer.status).toBe(204);
    expect(answer.headers).toMatchObject({
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "POST",
      vary: expect.stringMatching(/Origin/),
    });
    expect(answer.headers["access-control-allow-headers"]).toMatch(/Content-Type/);
    expect(Number(answer.headers["access-control-max-age"])).toBeGreaterThan(0);
  });

  it("answers a download preflight for Range and conditional headers", async () => {
    const answer = await preflight(
      `${gateway.url}/files/00/2026/01/01/${"0".repeat(40)}`,
      APP,
      "GET",
      "range,if-none-match",
    );
    expect(answer.status).toBe(204);
    expect(answer.headers["access-control-allow-methods"]).toBe("GET, HEAD");
    expect(answer.headers["access-control-allow-headers"]).toMatch(/Range/);
    expect(answer.headers["access-control-allow-headers"]).toMatch(/If-None-Match/);
  });

  it("lets the page read an upload's answer, and a refusal's JSON", async () => {
    const ok = await postForm(`${gateway.url}/upload`, form(), { origin: APP });
    expect(ok.status).toBe(200);
    expect(ok.headers["access-control-allow-origin"]).toBe(APP);
    const refused = await postForm(`${gateway.url}/upload`, form("wrong-token-0123456789"), {
      origin: APP,
    });
    expect(refused.status).toBe(401);
    expect(refused.headers["access-control-allow-origin"]).toBe(APP);
    expect(refused.headers["access-control-expose-headers"]).toMatch(/Retry-After/);
    const url = (ok.json as { url: string }).url;
    const ranged = await send(url, { headers: { origin: APP, range: "bytes=1-2" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers["access-control-allow-origin"]).toBe(APP);
    for (const exposed of [
      "Content-Range",
      "Content-Length",
      "Accept-Ranges",
      "ETag",
      "Content-Disposition",
    ]) {
      expect(ranged.headers["access-control-expose-headers"]).toContain(exposed);
    }
  });

  it("gives a disallowed origin no CORS headers, and never a 5xx", async () => {
    const pre = await preflight(`${gateway.url}/upload`, "https://evil.example", "POST");
    expect(pre.status).toBeLessThan(500);
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
    const upload = await postForm(`${gateway.url}/upload`, form(), {
      origin: "https://evil.example",
    });
    expect(upload.status).toBe(200);
    expect(upload.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("with *, allows any origin", async () => {
    const answer = await preflight(`${open.url}/upload`, "https://anywhere.example", "POST");
    expect(answer.headers["access-control-allow-origin"]).toBe("*");
  });
});
