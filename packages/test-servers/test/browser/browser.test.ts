import { existsSync, readFileSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startBrowser,
  startStaticServer,
  type BrowserHarness,
  type StaticServer,
} from "../../src/browser.ts";

/** How long to wait for something another process does (a shared CI machine can be slow). */
const WAIT = { timeout: 15_000, interval: 50 };

describe("startBrowser and startStaticServer (test infrastructure)", () => {
  let browser: BrowserHarness;
  let site: StaticServer;
  let other: StaticServer;

  beforeAll(async () => {
    // Each kept as soon as it is up, so afterAll stops it even when another failed to start.
    const results = await Promise.allSettled([
      startBrowser().then((started) => (browser = started)),
      startStaticServer().then((started) => (site = started)),
      startStaticServer().then((started) => (other = started)),
    ]);
    for (const result of results) if (result.status === "rejected") throw result.reason;
    site.route("/index.html", "<!doctype html><title>harness</title><p id=p>hello</p>");
    site.route("/data.json", JSON.stringify({ ok: 1 }));
    other.route("/data.json", JSON.stringify({ ok: 2 }));
  });
  afterAll(async () => {
    await Promise.all([browser?.stop(), site?.stop(), other?.stop()]);
  });

  it("loads a page from the static server and reads its own origin's JSON", async () => {
    const page = await browser.newPage();
    await page.goto(`${site.origin}/index.html`);
    expect(await page.textContent("#p")).toBe("hello");
    const data = await page.evaluate(async () => (await fetch("/data.json")).json());
    expect(data).toEqual({ ok: 1 });
    expect(await page.evaluate(() => navigator.userAgent)).toContain("HeadlessChrome");
    await page.close();
  });

  it("keeps 127.0.0.1 and localhost apart: a cross-origin read without CORS fails", async () => {
    const page = await browser.newPage();
    await page.goto(`${site.origin}/index.html`);
    const sameServerOtherOrigin = `http://localhost:${site.port}/data.json`;
    const outcome = await page.evaluate(async (url) => {
      try {
        await fetch(url);
        return "read";
      } catch (err) {
        return (err as Error).name;
      }
    }, sameServerOtherOrigin);
    expect(outcome).toBe("TypeError");
    // The server did answer; the browser withheld it. A same-origin read of the other server works.
    const page2 = await browser.newPage();
    await page2.goto(`${other.origin}/data.json`);
    expect(await page2.evaluate(async () => (await fetch("/data.json")).json())).toEqual({ ok: 2 });
    await Promise.all([page.close(), page2.close()]);
  });

  it("collects a page's uncaught exceptions", async () => {
    const page = await browser.newPage();
    await page.goto(`${site.origin}/index.html`);
    const before = browser.pageErrors.length;
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error("boom from the page");
      });
    });
    await expect.poll(() => browser.pageErrors.length, WAIT).toBe(before + 1);
    expect(browser.pageErrors.at(-1)).toContain("boom from the page");
    await page.close();
  });

  it("serves files under its root and nothing outside it", async () => {
    const rooted = await startStaticServer({ root: new URL(".", import.meta.url).pathname });
    try {
      const own = await fetch(`${rooted.origin}/browser.test.ts`);
      expect(own.status).toBe(200);
      expect(await own.text()).toContain("startStaticServer");
      const escape = await fetch(`${rooted.origin}/..%2F..%2Fpackage.json`);
      expect(escape.status).toBe(404);
      expect((await fetch(`${rooted.origin}/missing.js`)).status).toBe(404);
    } finally {
      await rooted.stop();
    }
  });
});

describe("startBrowser without a browser", () => {
  it("says which package to install instead of downloading one", async () => {
    await expect(startBrowser({ executablePath: "/nonexistent/chromium" })).rejects.toThrow(
      /apt-get install chromium/,
    );
  });

  it("stop() ends every browser process and removes the profile folder", async () => {
    const harness = await startBrowser();
    expect(existsSync(harness.profileDir)).toBe(true);
    expect(processesUsing(harness.profileDir).length).toBeGreaterThan(0);
    await harness.stop();
    await harness.stop(); // idempotent
    expect(existsSync(harness.profileDir)).toBe(false);
    // Renderers may take a moment longer than the main process to be reaped.
    await expect.poll(() => processesUsing(harness.profileDir), WAIT).toEqual([]);
  });
});

/** Pids whose command line names `text` (Chromium's processes all carry --user-data-dir). */
function processesUsing(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}
