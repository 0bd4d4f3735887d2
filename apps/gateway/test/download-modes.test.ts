/**
 * DOWNLOAD_MODE and the rate limits through a real gateway process on every backend: redirect
 * wherever the backend can sign (the 302 is followed with fetch and the bytes compared),
 * direct everywhere, and a per-uid and per-address limit on each backend. The exhaustive
 * rate-limit cases run on fs only (rate-limit.test.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { supportsSignedUrls, type StorageAdapter } from "@mediagate/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers, type ProviderName } from "../src/storage/providers/index.ts";
import { backends } from "./backends/index.ts";
import type { RunningBackend } from "./backends/types.ts";
import { PUBLIC_BASE_URL, TOKEN } from "./support/backend-session.ts";
import { expectRateLimited, expectRefusal, uploadForm, uploadedUrl } from "./support/forms.ts";
import {
  runGatewayToExit,
  startGatewayProcess,
  type GatewayProcess,
} from "./support/gateway-process.ts";
import { postForm, send } from "./support/http.ts";

const CDN = "https://cdn.example.test/media";
const KEY = /^[0-9a-f]{2}\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{40}(\.[a-z0-9]+)?$/;

for (const fixture of backends) {
  describe(`download modes and rate limits on ${fixture.name}`, () => {
    let backend: RunningBackend;
    let adapter: StorageAdapter;
    let spoolDir: string;
    const gateways: GatewayProcess[] = [];

    const gateway = async (env: Record<string, string>) => {
      const started = await startGatewayProcess({
        ...backend.env,
        AUTH_TOKENS: TOKEN,
        PUBLIC_BASE_URL,
        SPOOL_DIR: spoolDir,
        ...env,
      });
      gateways.push(started);
      return started;
    };
    const local = (gw: GatewayProcess, url: string) => gw.url + url.slice(PUBLIC_BASE_URL.length);

    beforeAll(async () => {
      backend = await fixture.start();
      spoolDir = await mkdtemp(join(tmpdir(), "mediagate-modes-spool-"));
      const name = backend.env.STORAGE_PROVIDER as ProviderName;
      const provider = providers[name];
      if (!provider) throw new Error(`no provider ${name}`);
      adapter = await provider.create(provider.env.parse(backend.env), { createBucket: true });
    }, 60_000);

    afterAll(async () => {
      await Promise.all(gateways.map((gw) => gw.stop()));
      await backend?.stop();
      if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
    }, 60_000);

    it("direct: answers PUBLIC_OBJECT_BASE_URL + key, and the object is at that key", async () => {
      const gw = await gateway({ DOWNLOAD_MODE: "direct", PUBLIC_OBJECT_BASE_URL: `${CDN}/` });
      const body = randomBytes(4096);
      for (const fileFirst of [false, true]) {
        const url = uploadedUrl(
          await postForm(`${gw.url}/upload`, uploadForm({}, { body }, { fileFirst })),
        );
        expect(url.startsWith(`${CDN}/`)).toBe(true);
        const key = url.slice(CDN.length + 1);
        expect(key).toMatch(KEY);
        const { body: stream, info } = await adapter.read(key);
        expect(Buffer.concat(await stream.toArray())).toEqual(body);
        expect(info.contentType).toBe("image/jpeg");
      }
    });

    // Every cloud fixture gives the gateway credentials that sign (asserted below); a local
    // folder has nothing to sign with.
    if (fixture.name === "fs") {
      it("redirect: start-up refuses a backend that cannot sign, in one line", async () => {
        const { code, stderr } = await runGatewayToExit({
          ...backend.env,
          AUTH_TOKENS: TOKEN,
          DOWNLOAD_MODE: "redirect",
        });
        expect(code).toBe(2);
        expect(stderr.trim().split("\n")).toHaveLength(1);
        expect(stderr).toMatch(/DOWNLOAD_MODE=redirect needs a backend that can sign URLs/);
      });
    } else {
      describe("redirect", () => {
        let gw: GatewayProcess;
        beforeAll(async () => {
          expect(supportsSignedUrls(adapter)).toBe(true);
          gw = await gateway({ DOWNLOAD_MODE: "redirect", REDIRECT_URL_TTL: "2m" });
        }, 60_000);

        const follow = async (url: string, headers: Record<string, string> = {}) => {
          const answer = await send(local(gw, url));
          expect(answer.status).toBe(302);
          expect(answer.headers["cache-control"]).toBe("no-store");
          const location = answer.headers.location;
          expect(location).toMatch(/^https?:\/\//);
          expect(location?.startsWith(gw.url)).toBe(false);
          return fetch(location ?? "", { headers });
        };

        it("answers 302 to a signed URL that serves the same bytes, type and disposition", async () => {
          const body = randomBytes(64 * 1024 + 7);
          const url = uploadedUrl(
            await postForm(`${gw.url}/upload`, uploadForm({}, { body, filename: "Résumé.jpg" })),
          );
          const response = await follow(url);
          expect(response.status).toBe(200);
          expect(Buffer.from(await response.arrayBuffer())).toEqual(body);
          expect(response.headers.get("content-type")).toBe("image/jpeg");
          expect(response.headers.get("content-disposition")).toBe(
            `inline; filename="R_sum_.jpg"; filename*=UTF-8''R%C3%A9sum%C3%A9.jpg`,
          );
          // A fresh signed URL on every GET, and ranges work at the backend (video seeking).
          const ranged = await follow(url, { Range: "bytes=10-19" });
          expect(ranged.status).toBe(206);
          expect(Buffer.from(await ranged.arrayBuffer())).toEqual(body.subarray(10, 20));
        });

        it("makes the backend send HTML as an attachment, as the proxy mode would", async () => {
          const url = uploadedUrl(
            await postForm(
              `${gw.url}/upload`,
              uploadForm(
                {},
                { body: "<script>alert(1)</script>", filename: "x.html", type: "text/html" },
              ),
            ),
          );
          const response = await follow(url);
          expect(await response.text()).toBe("<script>alert(1)</script>");
          expect(response.headers.get("content-type")).toMatch(/^text\/html/);
          expect(response.headers.get("content-disposition")).toMatch(/^attachment;/);
        });

        it("answers HEAD with the same kind of redirect", async () => {
          const url = uploadedUrl(await postForm(`${gw.url}/upload`, uploadForm()));
          const answer = await send(local(gw, url), { method: "HEAD" });
          expect(answer.status).toBe(302);
          expect(answer.headers["cache-control"]).toBe("no-store");
          const response = await fetch(answer.headers.location ?? "");
          expect(await response.text()).toBe("hello");
        });

        it("answers 404 JSON, not a redirect, for a key that does not exist", async () => {
          const missing = await send(`${gw.url}/files/2026/01/01/${"0".repeat(40)}.jpg`);
          expectRefusal(missing, 404, "NOT_FOUND");
          expect(missing.headers.location).toBeUndefined();
        });
      });
    }

    it("limits uploads per uid and per address, and downloads per address", async () => {
      const gw = await gateway({
        RATE_LIMIT_UPLOADS_PER_MINUTE: "2",
        RATE_LIMIT_IP_PER_MINUTE: "4",
        RATE_LIMIT_DOWNLOADS_PER_MINUTE: "2",
      });
      const first = uploadedUrl(await postForm(`${gw.url}/upload`, uploadForm({ uid: "7" })));
      uploadedUrl(await postForm(`${gw.url}/upload`, uploadForm({ uid: "7" })));
      const before = await backend.inventory();
      // Per uid: the third upload for uid 7 is refused before a byte is stored.
      expectRateLimited(await postForm(`${gw.url}/upload`, uploadForm({ uid: "7" })));
      uploadedUrl(await postForm(`${gw.url}/upload`, uploadForm({ uid: "8" })));
      // Per address: that was the fourth upload request from 127.0.0.1.
      expectRateLimited(await postForm(`${gw.url}/upload`, uploadForm({ uid: "9" })));
      const after = await backend.inventory();
      expect(after.objects).toHaveLength(before.objects.length + 1);
      expect(after.leftovers).toEqual([]);

      expect((await send(local(gw, first))).status).toBe(200);
      expect((await send(local(gw, first), { method: "HEAD" })).status).toBe(200);
      expectRateLimited(await send(local(gw, first)));
    });
  });
}
