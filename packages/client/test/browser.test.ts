/**
 * Headless Chromium on one origin (127.0.0.1:<site>) talking to a real gateway on another
 * (localhost:<gateway>): first with the browser's own fetch and XHR, then through the
 * compiled @mediagate/client. Needs the gateway's CORS (CORS_ORIGINS).
 */
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import {
  startBrowser,
  startFaultProxy,
  type BrowserHarness,
  type FaultProxy,
  type StaticServer,
} from "@mediagate/test-servers";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  buildClient,
  makeBuildDir,
  settleAll,
  startSite,
  type PageGlobals,
} from "./support/browser-site.ts";
import { keyOf, startStack, storedKeys, tempFiles, TOKEN, type Stack } from "./support/stack.ts";

/** How long to wait for something another process does (a shared CI machine can be slow). */
const WAIT = { timeout: 15_000, interval: 50 };

declare const window: PageGlobals & Window;

describe("in Chromium, from another origin", () => {
  let buildDir: string;
  let site: StaticServer;
  let stack: Stack;
  let browser: BrowserHarness;
  let tcp: FaultProxy;
  /** The gateway as the page sees it: another origin than the page's. */
  let gateway: string;
  let page: Page;

  beforeAll(async () => {
    buildDir = await makeBuildDir();
    site = await startSite(buildDir);
    // Each kept as soon as it is up, so afterAll stops it even when another failed to start.
    await settleAll([
      startStack({ CORS_ORIGINS: site.origin }).then((started) => (stack = started)),
      startBrowser().then((started) => (browser = started)),
      buildClient(buildDir),
    ]);
    gateway = `http://localhost:${stack.gateway.port}`;
    tcp = await startFaultProxy({ targetPort: stack.gateway.port });
  });
  afterAll(async () => {
    await Promise.all([browser?.stop(), site?.stop(), tcp?.stop(), stack?.stop()]);
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  async function openPage(): Promise<Page> {
    page = await browser.newPage();
    await page.goto(`${site.origin}/index.html`);
    await page.waitForFunction(() => window.mediagate !== undefined);
    return page;
  }
  afterEach(async () => {
    await page?.close();
    expect(browser.pageErrors).toEqual([]);
  });

  describe("with the browser's own APIs", () => {
    it("uploads with fetch and reads the JSON answer", async () => {
      await openPage();
      const answer = await page.evaluate(
        async ({ gateway, token }) => {
          const file = new Blob(["hello from a page"], { type: "text/plain" });
          const form = window.mesiboForm(token, "7", file, "hello.txt");
          const response = await fetch(`${gateway}/upload`, { method: "POST", body: form });
          return { status: response.status, body: (await response.json()) as { url: string } };
        },
        { gateway, token: TOKEN },
      );
      expect(answer).toEqual({
        status: 200,
        body: { result: true, url: expect.stringMatching(`^${gateway}/files/`) },
      });
      expect(await (await fetch(answer.body.url)).text()).toBe("hello from a page");
    });

    it("uploads with XHR and an upload progress listener, which the browser preflights", async () => {
      await openPage();
      const before = stack.gateway.logs().length;
      const answer = await page.evaluate(
        ({ gateway, token }) =>
          new Promise<{ status: number; text: string; events: [number, number][] }>(
            (resolve, reject) => {
              const file = new Blob([new Uint8Array(2 * 1024 * 1024)]);
              const form = window.mesiboForm(token, "8", file, "zeros.bin");
              const xhr = new XMLHttpRequest();
              const events: [number, number][] = [];
              xhr.upload.addEventListener("progress", (e) => events.push([e.loaded, e.total]));
              xhr.addEventListener("load", () =>
                resolve({ status: xhr.status, text: xhr.responseText, events }),
              );
              xhr.addEventListener("error", () => reject(new Error("XHR failed")));
              xhr.open("POST", `${gateway}/upload`);
              xhr.send(form);
            },
          ),
        { gateway, token: TOKEN },
      );
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ result: true });
      const [loaded, total] = answer.events.at(-1) ?? [0, -1];
      expect(loaded).toBe(total);
      const methods = stack.gateway
        .logs()
        .slice(before)
        .map((line) => (line.req as { method?: string } | undefined)?.method);
      expect(methods).toContain("OPTIONS");
    });

    it("reads a refused upload's JSON (401)", async () => {
      await openPage();
      const answer = await page.evaluate(async (gateway) => {
        const form = window.mesiboForm("wrong", "9", new Blob(["x"]), "x.txt");
        const response = await fetch(`${gateway}/upload`, { method: "POST", body: form });
        return { status: response.status, body: await response.json() };
      }, gateway);
      expect(answer).toEqual({
        status: 401,
        body: { result: false, error: { code: "UNAUTHORIZED", message: expect.any(String) } },
      });
    });

    it("downloads a byte range and reads Content-Range and ETag", async () => {
      await openPage();
      const result = await page.evaluate(
        async ({ gateway, token }) => {
          const { url } = await window.mediagate.upload(
            new Blob(["0123456789"], { type: "text/plain" }),
            {
              url: `${gateway}/upload`,
              token,
              uid: 42,
              source: 0,
            },
          );
          const response = await fetch(url, { headers: { Range: "bytes=2-5" } });
          return {
            status: response.status,
            contentRange: response.headers.get("Content-Range"),
            etag: response.headers.get("ETag"),
            body: await response.text(),
          };
        },
        { gateway, token: TOKEN },
      );
      expect(result).toEqual({
        status: 206,
        contentRange: "bytes 2-5/10",
        etag: expect.stringMatching(/^(W\/)?".+"$/),
        body: "2345",
      });
    });
  });

  describe("through @mediagate/client", () => {
    const SIZE = 50 * 1024 * 1024;

    it("uploads 50 MB over XHR with progress events rising to the total", async () => {
      await openPage();
      const result = await page.evaluate(
        async ({ gateway, token, size }) => {
          const parts: Uint8Array<ArrayBuffer>[] = [];
          for (let left = size; left > 0; left -= 65536)
            parts.push(crypto.getRandomValues(new Uint8Array(Math.min(65536, left))));
          const file = new File(parts, "video.bin");
          const digest = new Uint8Array(
            await crypto.subtle.digest("SHA-256", await file.arrayBuffer()),
          );
          const events: { loaded: number; total: number }[] = [];
          const { url } = await window.mediagate.upload(file, {
            url: `${gateway}/upload`,
            token,
            uid: 42,
            source: 0,
            onProgress: ({ loaded, total }) => events.push({ loaded, total }),
          });
          const rising = events.every(
            (e, i) => i === 0 || e.loaded > (events[i - 1]?.loaded ?? Infinity),
          );
          return {
            url,
            rising,
            count: events.length,
            last: events.at(-1),
            sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
          };
        },
        { gateway, token: TOKEN, size: SIZE },
      );
      expect(result.rising).toBe(true);
      expect(result.count).toBeGreaterThan(1);
      expect(result.last?.loaded).toBe(result.last?.total);
      expect(result.last?.total).toBeGreaterThan(SIZE);
      const { body, info } = await stack.storage.read(keyOf(result.url));
      expect(info.size).toBe(SIZE);
      const hash = createHash("sha256");
      for await (const chunk of body) hash.update(chunk as Buffer);
      expect(hash.digest("hex")).toBe(result.sha256);
    });

    it("aborts a 50 MB upload midway: ABORTED, and nothing stored", async () => {
      await openPage();
      const keysBefore = await storedKeys(stack.storage);
      // Holds the upload still, once the gateway has begun writing it, so the abort lands midway.
      await page.exposeFunction("holdUpload", async () => {
        tcp.pause();
        await expect
          .poll(async () => (await tempFiles(stack.root)).some((f) => f.size > 0), WAIT)
          .toBe(true);
      });
      const outcome = await page.evaluate(
        async ({ gateway, token, size }) => {
          const hold = (window as unknown as { holdUpload(): Promise<void> }).holdUpload;
          const controller = new AbortController();
          let held: Promise<boolean> | undefined;
          try {
            await window.mediagate.upload(new Blob([new Uint8Array(size)]), {
              url: `${gateway}/upload`,
              token,
              uid: 42,
              source: 0,
              signal: controller.signal,
              onProgress: ({ loaded }) => {
                if (held || loaded < 4 * 1024 * 1024) return;
                // Aborted either way, so a failed hold cannot leave the upload hanging.
                held = hold().then(
                  () => true,
                  () => false,
                );
                void held.then(() => controller.abort());
              },
            });
            return { code: "none" };
          } catch (err) {
            return { code: (err as { code?: string }).code, held: await held };
          }
        },
        { gateway: `http://localhost:${tcp.port}`, token: TOKEN, size: SIZE },
      );
      tcp.resume();
      expect(outcome).toEqual({ code: "ABORTED", held: true });
      await expect.poll(() => tempFiles(stack.root), WAIT).toEqual([]);
      expect(await storedKeys(stack.storage)).toEqual(keysBefore);
    });

    it("hands mesibo's callback a download URL, as Mesibo.setUploadHandler calls it", async () => {
      await openPage();
      const urls = await page.evaluate(async (gateway) => {
        const errors: string[] = [];
        const handler = window.mediagate.mesiboUploadHandler({
          url: `${gateway}/upload`,
          // The app's backend hands out the token (here: /token on the page's own origin).
          getToken: async () => (await fetch("/token")).text(),
          uid: 42,
          onError: (error) => errors.push(error.code),
        });
        const call = (file: unknown) =>
          new Promise<{ url: string | null; sync: boolean }>((resolve) => {
            let returned = false;
            handler(file, (url) => resolve({ url, sync: !returned }));
            returned = true;
          });
        const photo = new File(["picture bytes"], "photo.jpg", { type: "image/jpeg" });
        return {
          file: await call(photo),
          message: await call({
            mid: 987654,
            source: 1,
            file: new File(["profile bytes"], "me.png"),
          }),
          nothing: await call({ mid: 5 }),
          errors,
        };
      }, gateway);
      // Only the call without a file fails.
      expect(urls.errors).toEqual(["INVALID_ARGUMENT"]);
      expect(urls.file).toEqual({ url: expect.stringMatching(`^${gateway}/files/`), sync: false });
      expect(urls.message).toEqual({
        url: expect.stringMatching(`^${gateway}/files/`),
        sync: false,
      });
      expect(urls.nothing).toEqual({ url: null, sync: false });
      expect(await (await fetch(urls.file.url ?? "")).text()).toBe("picture bytes");
      const info = await stack.storage.stat(keyOf(urls.message.url ?? ""));
      expect(info.metadata).toMatchObject({ uid: "42", mid: "987654", source: "1" });
    });

    it("calls mesibo back with null, and the app's onError with why, when the gateway refuses", async () => {
      await openPage();
      const outcome = await page.evaluate(async (gateway) => {
        let reason: { code: string; status?: number } | undefined;
        const handler = window.mediagate.mesiboUploadHandler({
          url: `${gateway}/upload`,
          token: "not-a-valid-token",
          uid: 42,
          onError: (error) => (reason = { code: error.code, status: error.status }),
        });
        const url = await new Promise((resolve) => handler(new Blob(["x"]), resolve));
        return { url, reason };
      }, gateway);
      expect(outcome).toEqual({ url: null, reason: { code: "UNAUTHORIZED", status: 401 } });
    });
  });
});
