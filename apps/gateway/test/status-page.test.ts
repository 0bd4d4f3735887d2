/**
 * The status page in headless Chromium against real gateway processes: what it shows, an
 * upload through its tester, its CSP, and who may read its figures in production.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBrowser, type BrowserHarness } from "@mediagate/test-servers";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { STATUS_CSP } from "../src/status/route.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { decodePng, inkOf, pixelsOf } from "./support/png.ts";

const TOKEN = "status-page-upload-token-0123456789";
const ADMIN_TOKEN = "status-page-admin-token-0123456789";
/** Another process answers what the page shows; give it time on a busy machine. */
const WAIT = { timeout: 15_000, interval: 100 };
const HTML = { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

describe("the status page", () => {
  let dir: string;
  let browser: BrowserHarness;
  /** NODE_ENV unset: open. */
  let open: GatewayProcess;
  /** NODE_ENV=production with ADMIN_TOKENS. */
  let guarded: GatewayProcess;
  /** NODE_ENV=production without ADMIN_TOKENS: no status page. */
  let closed: GatewayProcess;
  let page: Page | undefined;
  /** What the pages said about their Content-Security-Policy. */
  const violations: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mediagate-status-"));
    const env = (name: string) => ({ FS_ROOT: join(dir, name), AUTH_TOKENS: TOKEN });
    // Each kept as soon as it is up, so afterAll stops it even when another failed to start.
    const started = await Promise.allSettled([
      startBrowser().then((b) => (browser = b)),
      startGatewayProcess(env("open")).then((g) => (open = g)),
      startGatewayProcess({
        ...env("guarded"),
        NODE_ENV: "production",
        ADMIN_TOKENS: ADMIN_TOKEN,
      }).then((g) => (guarded = g)),
      startGatewayProcess({ ...env("closed"), NODE_ENV: "production" }).then((g) => (closed = g)),
    ]);
    for (const result of started) if (result.status === "rejected") throw result.reason;
  });
  afterAll(async () => {
    await Promise.all([browser?.stop(), open?.stop(), guarded?.stop(), closed?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await page?.close();
    page = undefined;
    expect(browser.pageErrors).toEqual([]);
    expect(violations).toEqual([]);
  });

  async function openPage(url: string): Promise<Page> {
    page = await browser.newPage();
    page.on("console", (message) => {
      if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${url}/`);
    return page;
  }

  const textOf = (selector: string) => () => page?.locator(selector).textContent();

  it("answers a browser with a page under a strict CSP, and anything else with the JSON 404", async () => {
    const answer = await fetch(`${open.url}/`, { headers: HTML });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/^text\/html/);
    expect(answer.headers.get("content-security-policy")).toBe(STATUS_CSP);
    expect(STATUS_CSP).toContain("script-src 'self'");
    expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await answer.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/status\/[^"]+"/);
      expect(body).toBe("");
    }
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:/i);

    // mesibo and probes never ask for HTML: "/" stays the upload URL's JSON 404 for them.
    const api = await fetch(`${open.url}/`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({
      result: false,
      error: { code: "NOT_FOUND", message: "Not found." },
    });

    const data = await fetch(`${open.url}/status.json`);
    expect(data.status).toBe(200);
    expect(data.headers.get("cache-control")).toBe("no-store");
    expect(await data.json()).toMatchObject({
      result: true,
      gateway: { backend: "fs", version: "0.1.0" },
      readiness: {
        ready: true,
        checks: [
          { name: "fs", ok: true },
          { name: "ledger", ok: true },
        ],
      },
      storage: { records: 0, bytes: 0 },
    });

    // The upload client's TypeScript sources, served as JavaScript by either extension.
    for (const path of ["/status/client/index.js", "/status/client/upload.ts"]) {
      const module = await fetch(`${open.url}${path}`);
      expect(module.status).toBe(200);
      expect(module.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(await module.text()).not.toMatch(/\binterface\s|:\s*UploadOptions\b/);
    }
    for (const path of ["/status/route.js", "/status/client/../route.ts", "/status/x/y.js"]) {
      expect((await fetch(`${open.url}${path}`)).status).toBe(404);
    }
  });

  it("shows the backend, the version and readiness, and draws them", async () => {
    const tab = await openPage(open.url);
    await expect.poll(textOf("#readiness"), WAIT).toBe("Ready");
    expect(await tab.title()).toBe("mediagate status");
    expect(await textOf("#backend")()).toBe("fs");
    expect(await textOf("#version")()).toMatch(/^0\.1\.0 \(Node v\d+/);
    expect(await textOf("#checks")()).toMatch(/✓ fs: ok.*✓ ledger: ok/);
    expect(await tab.locator("#signin").isVisible()).toBe(false);

    const shot = decodePng(await tab.screenshot({ fullPage: true }));
    const blankPage = await browser.newPage();
    const blank = decodePng(await blankPage.screenshot());
    await blankPage.close();
    expect(inkOf(blank)).toEqual({ ink: 0, colors: 1 });
    const { ink, colors } = inkOf(shot);
    // Text in several colours over a good part of the page: it rendered, styled.
    expect(ink).toBeGreaterThan((shot.width * shot.height) / 100);
    expect(colors).toBeGreaterThan(20);
    // The ready mark's green, from the stylesheet, so that loaded under the CSP too.
    expect(pixelsOf(shot, "#1a7f37")).toBeGreaterThan(50);
  });

  it("uploads a file through its tester, links the stored bytes, and counts the outcome", async () => {
    const tab = await openPage(open.url);
    await expect.poll(textOf("#uploads-ok"), WAIT).toBe("0");
    const bytes = Buffer.from(`status page upload ${Date.now()}\n`.repeat(2000));
    await tab.fill("#upload-token", TOKEN);
    await tab.setInputFiles("#upload-file", {
      name: "hello.txt",
      mimeType: "text/plain",
      buffer: bytes,
    });
    await tab.click("#upload-button");
    const link = tab.locator("#upload-url");
    await link.waitFor(WAIT);
    const url = String(await link.getAttribute("href"));
    expect(url).toMatch(new RegExp(`^${open.url}/files/`));
    expect(await link.textContent()).toBe(url);
    // The client's last progress event: the whole body sent.
    const progress = tab.locator("#upload-progress");
    expect(Number(await progress.getAttribute("value"))).toBeGreaterThan(bytes.length);
    expect(await progress.getAttribute("value")).toBe(await progress.getAttribute("max"));
    const download = await fetch(url);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    await expect.poll(textOf("#uploads-ok"), WAIT).toBe("1");

    // A refused upload shows the gateway's code, and counts as a client error.
    await tab.fill("#upload-token", "not-the-upload-token-0123456789");
    await tab.click("#upload-button");
    await expect.poll(textOf("#upload-error"), WAIT).toBe("UNAUTHORIZED");
    await expect.poll(textOf("#uploads-client-errors"), WAIT).toBe("1");
    expect(await textOf("#uploads-ok")()).toBe("1");
  });

  it("in production, shows its figures only with an admin token", async () => {
    // Stored before the first look: the ledger's totals are then counted afresh.
    const form = new FormData();
    form.set("op", "upload");
    form.set("auth", TOKEN);
    form.set("mid", "1");
    form.set("file", new Blob(["x".repeat(1234)]), "x.txt");
    expect((await fetch(`${guarded.url}/upload`, { method: "POST", body: form })).status).toBe(200);
    const status = `${guarded.url}/status.json`;
    const anonymous = await fetch(status);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: "UNAUTHORIZED" } });
    const wrong = await fetch(status, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(wrong.status).toBe(401);
    const admin = await fetch(status, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(admin.status).toBe(200);
    expect(await admin.json()).toMatchObject({
      result: true,
      gateway: { backend: "fs" },
      uploads: { totals: { ok: 1, clientError: 0, serverError: 0, aborted: 0 } },
      storage: { records: 1, bytes: 1234 },
    });
    // The shell is public: it tells nothing until a token is given.
    expect((await fetch(`${guarded.url}/`, { headers: HTML })).status).toBe(200);
    expect((await fetch(`${guarded.url}/status/page.js`)).status).toBe(200);
  });

  it("in production, asks for the admin token in the page and keeps it for the tab", async () => {
    const tab = await openPage(guarded.url);
    const signin = tab.locator("#signin");
    await signin.waitFor({ state: "visible", ...WAIT });
    expect(await tab.locator("#overview").isVisible()).toBe(false);
    await tab.fill("#admin-token", "not-an-admin-token-0123456789");
    await tab.click("#signin-form button");
    await expect.poll(textOf("#signin-error"), WAIT).toBe("That admin token was refused.");
    await tab.fill("#admin-token", ADMIN_TOKEN);
    await tab.click("#signin-form button");
    await expect.poll(textOf("#backend"), WAIT).toBe("fs");
    expect(await signin.isVisible()).toBe(false);
    expect(await textOf("#storage-files")()).toBe("1");
    expect(await textOf("#storage-bytes")()).toMatch(/^1\.2 KiB \(1,234 B\)/);
    // sessionStorage, not a cookie: a reload in the same tab keeps it.
    await tab.reload();
    await expect.poll(textOf("#readiness"), WAIT).toBe("Ready");
    expect(await tab.context().cookies()).toEqual([]);
  });

  it("in production without ADMIN_TOKENS, has no status page at all", async () => {
    for (const [path, headers] of [
      ["/", HTML],
      ["/status.json", {}],
      ["/status/page.js", {}],
      ["/status/status.css", {}],
    ] as const) {
      const answer = await fetch(`${closed.url}${path}`, { headers });
      expect(answer.status).toBe(404);
      expect(await answer.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    }
  });
});
