/**
 * Auth modes (signed per-user tokens, the app's webhook) and the ALLOWED_TYPES magic-byte
 * policy, through real gateway processes on every backend: a few focused cases per backend,
 * the exhaustive variations on fs. Every refusal must leave storage and the spool untouched.
 */
import { createHash, randomBytes } from "node:crypto";
import { mintUploadToken } from "@mediagate/tokens";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import { AuthWebhook } from "./support/auth-webhook.ts";
import { BackendSession, PUBLIC_BASE_URL } from "./support/backend-session.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { postForm, send, type Answer } from "./support/http.ts";
import type { Part } from "./support/multipart.ts";

const SECRET = "signing-secret-new-0123456789abcdef";
const OLD_SECRET = "signing-secret-old-0123456789abcdef";
const ALLOWED_TYPES = "image/*,application/pdf,text/plain";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const token = (
  uid: number | string,
  options: { ttl?: number; secret?: string; now?: number } = {},
) =>
  mintUploadToken({
    secret: options.secret ?? SECRET,
    uid,
    ttlSeconds: options.ttl ?? 3600,
    now: options.now,
  });

/** A well-formed PNG (signature, IHDR, an IDAT of noise, IEND): what file-type recognises. */
function png(dataBytes = 20_000): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type), data, Buffer.alloc(4)]);
  };
  return Buffer.concat([
    Buffer.from("89504e470d0a1a0a", "hex"),
    chunk("IHDR", Buffer.from("00000001000000010806000000", "hex")),
    chunk("IDAT", randomBytes(dataBytes)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
const html = Buffer.from("<!doctype html><script>alert(document.cookie)</script>");
const exe = Buffer.concat([Buffer.from("MZ"), Buffer.alloc(200), Buffer.from("PE\0\0")]);

const form = (auth: string, uid = "42", extra: Record<string, string> = {}): Part[] =>
  Object.entries({ op: "upload", auth, uid, mid: "1001", source: "message", ...extra }).map(
    ([name, value]) => ({ name, value }),
  );
const file = (body: Buffer, filename = "photo.png", type = "image/png"): Part => ({
  name: "file",
  filename,
  type,
  body,
});

function expectError(answer: Answer, status: number, code: string) {
  expect({ status: answer.status, json: answer.json }).toMatchObject({
    status,
    json: { result: false, error: { code, message: expect.any(String) } },
  });
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
}

for (const fixture of backends) {
  const exhaustive = fixture.name === "fs";

  describe(`auth modes and content types on ${fixture.name}`, () => {
    // The signed-mode gateway, with ALLOWED_TYPES, on the backend the session starts.
    const session = new BackendSession(fixture);
    const webhook = new AuthWebhook();
    let hooked: GatewayProcess;
    const signedUpload = (parts: Part[]) => postForm(`${session.gateway.url}/upload`, parts);
    const hookedUpload = (parts: Part[]) => postForm(`${hooked.url}/upload`, parts);

    beforeAll(async () => {
      await Promise.all([
        session.start({
          AUTH_TOKENS: "",
          AUTH_MODE: "signed",
          AUTH_SIGNING_SECRETS: `${SECRET},${OLD_SECRET}`,
          ALLOWED_TYPES,
        }),
        webhook.start(),
      ]);
      hooked = await startGatewayProcess({
        ...session.backend.env,
        AUTH_MODE: "webhook",
        AUTH_WEBHOOK_URL: webhook.url,
        AUTH_WEBHOOK_TIMEOUT: "700ms",
        PUBLIC_BASE_URL,
        SPOOL_DIR: session.spoolDir,
      });
    });
    afterAll(async () => {
      await hooked?.stop();
      await webhook.stop();
      await session.stop();
    });

    describe("signed tokens", () => {
      it("stores an upload whose token was minted for its uid", async () => {
        const bytes = png();
        const answer = await signedUpload([...form(token(42)), file(bytes)]);
        expect(answer.status, answer.text).toBe(200);
        const url = (answer.json as { url: string }).url;
        expect(sha256((await send(session.local(url))).body)).toBe(sha256(bytes));
      });

      it("refuses a token of uid 5 uploading as uid 7, storing nothing", async () => {
        const before = await session.inventory();
        expectError(await signedUpload([...form(token(5), "7"), file(png())]), 401, "UNAUTHORIZED");
        await session.expectUntouched(before);
      });

      it("answers token_expired to an expired token, storing nothing", async () => {
        const before = await session.inventory();
        const expired = token(42, { ttl: 60, now: Math.floor(Date.now() / 1000) - 3600 });
        expectError(await signedUpload([...form(expired), file(png())]), 401, "TOKEN_EXPIRED");
        await session.expectUntouched(before);
      });

      if (exhaustive) {
        it("judges the fields of an mg1.-shaped token before its signature (SECURITY.md)", async () => {
          const before = await session.inventory();
          const junk = "mg1.not-a-payload.not-a-signature";
          const cases: [Record<string, string>, string][] = [
            [{ op: "delete" }, "UNKNOWN_OP"],
            [{ uid: "not a uid" }, "INVALID_UID"],
            [{ mid: "-1" }, "INVALID_MID"],
            [{ source: "../x" }, "INVALID_SOURCE"],
          ];
          for (const [fields, code] of cases) {
            expectError(await signedUpload([...form(junk, "42", fields), file(png())]), 400, code);
          }
          // Well-formed fields: now the junk token itself is judged.
          expectError(await signedUpload([...form(junk), file(png())]), 401, "UNAUTHORIZED");
          await session.expectUntouched(before);
        });

        it("answers TOKEN_EXPIRED to an expired genuine token whichever uid it names", async () => {
          const before = await session.inventory();
          const expired = token(5, { ttl: 60, now: Math.floor(Date.now() / 1000) - 3600 });
          expectError(
            await signedUpload([...form(expired, "7"), file(png())]),
            401,
            "TOKEN_EXPIRED",
          );
          await session.expectUntouched(before);
        });

        it("accepts tokens of the older secret during rotation, and no other secret", async () => {
          const old = await signedUpload([...form(token(42, { secret: OLD_SECRET })), file(png())]);
          expect(old.status, old.text).toBe(200);
          const before = await session.inventory();
          const foreign = token(42, { secret: "someone-elses-secret-0123456789abcdef" });
          expectError(await signedUpload([...form(foreign), file(png())]), 401, "UNAUTHORIZED");
          await session.expectUntouched(before);
        });

        it.each([
          ["a shared-style token", "e2e-upload-token-0123456789"],
          ["a truncated token", token(42).slice(0, -4)],
          ["a token with a forged payload", forgeUid(token(5), "42")],
          ["an empty token", ""],
        ])("refuses %s", async (_name, auth) => {
          const before = await session.inventory();
          expectError(await signedUpload([...form(auth), file(png())]), 401, "UNAUTHORIZED");
          await session.expectUntouched(before);
        });

        it("checks a file that arrives before its fields against the uid and expiry", async () => {
          const before = await session.inventory();
          expectError(
            await signedUpload([file(png()), ...form(token(5), "7")]),
            401,
            "UNAUTHORIZED",
          );
          const expired = token(42, { ttl: 60, now: Math.floor(Date.now() / 1000) - 3600 });
          expectError(await signedUpload([file(png()), ...form(expired)]), 401, "TOKEN_EXPIRED");
          await session.expectUntouched(before);
          const ok = await signedUpload([file(png()), ...form(token(42))]);
          expect(ok.status, ok.text).toBe(200);
        });

        it("never logs a token", async () => {
          const secret = token(99);
          await signedUpload([...form(secret, "99"), file(png())]);
          await signedUpload([...form(secret, "98"), file(png())]);
          const signature = secret.split(".")[2] ?? "";
          expect(session.gateway.stdout() + session.gateway.stderr()).not.toContain(signature);
        });
      }
    });

    describe("content types (ALLOWED_TYPES, checked on the bytes)", () => {
      it("stores the detected type, not the declared one", async () => {
        const answer = await signedUpload([
          ...form(token(42)),
          file(png(), "photo.bin", "application/octet-stream"),
        ]);
        expect(answer.status, answer.text).toBe(200);
        const key = session.keyOf((answer.json as { url: string }).url);
        expect((await session.adapter.stat(key)).contentType).toBe("image/png");
        const download = await send(session.local((answer.json as { url: string }).url));
        expect(download.headers["content-type"]).toBe("image/png");
      });

      it.each([
        ["HTML declared as an image", html, "image/png"],
        ["a Windows executable declared as a PDF", exe, "application/pdf"],
      ])("refuses %s with 415 and stores nothing", async (_name, bytes, declared) => {
        const before = await session.inventory();
        const direct = await signedUpload([...form(token(42)), file(bytes, "x.png", declared)]);
        expectError(direct, 415, "UNSUPPORTED_MEDIA_TYPE");
        const spooled = await signedUpload([file(bytes, "x.png", declared), ...form(token(42))]);
        expectError(spooled, 415, "UNSUPPORTED_MEDIA_TYPE");
        await session.expectUntouched(before);
      });

      if (exhaustive) {
        it.each([
          [
            "a JPEG declared as octet-stream: stored as image/jpeg",
            jpeg(),
            "application/octet-stream",
            200,
            "image/jpeg",
          ],
          [
            "a PDF: stored",
            Buffer.from("%PDF-1.7\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n"),
            "application/pdf",
            200,
            "application/pdf",
          ],
          [
            "plain text (no signature to check): stored",
            Buffer.from("hello"),
            "text/plain",
            200,
            "text/plain",
          ],
          [
            "an SVG declared as an image: 415",
            Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
            "image/svg+xml",
            415,
            "",
          ],
          ["HTML declared as text/html (not allowed): 415", html, "text/html", 415, ""],
          [
            "random bytes declared as octet-stream (not allowed): 415",
            randomBytes(5000),
            "application/octet-stream",
            415,
            "",
          ],
          ["an empty file declared as an image: 415", Buffer.alloc(0), "image/jpeg", 415, ""],
          [
            "a 100 kB PNG (peeked, then streamed on whole): stored",
            png100k(),
            "image/png",
            200,
            "image/png",
          ],
        ])("%s", async (_name, bytes, declared, status, stored) => {
          const before = await session.inventory();
          for (const parts of [
            [...form(token(42)), file(bytes, "f", declared)],
            [file(bytes, "f", declared), ...form(token(42))],
          ]) {
            const answer = await signedUpload(parts);
            expect(answer.status, answer.text).toBe(status);
            if (status !== 200) continue;
            const url = (answer.json as { url: string }).url;
            expect((await session.adapter.stat(session.keyOf(url))).contentType).toBe(stored);
            expect(sha256((await send(session.local(url))).body)).toBe(sha256(bytes));
          }
          if (status !== 200) await session.expectUntouched(before);
        });
      }
    });

    describe("webhook", () => {
      it("asks the app's backend with {auth, uid, mid, source} and stores what it allows", async () => {
        webhook.behaviour = "decide";
        const bytes = png();
        const answer = await hookedUpload([...form("app-7", "7", { mid: "555" }), file(bytes)]);
        expect(answer.status, answer.text).toBe(200);
        expect(webhook.calls.at(-1)).toEqual({
          auth: "app-7",
          uid: "7",
          mid: "555",
          source: "message",
          contentType: "application/json",
        });
        const url = (answer.json as { url: string }).url;
        expect(sha256((await send(session.local(url))).body)).toBe(sha256(bytes));
      });

      it("refuses with 401 what it denies, storing nothing", async () => {
        webhook.behaviour = "decide";
        const before = await session.inventory();
        expectError(await hookedUpload([...form("app-7", "8"), file(png())]), 401, "UNAUTHORIZED");
        await session.expectUntouched(before);
      });

      it("answers 503 auth_unavailable when the backend drops the connection", async () => {
        webhook.behaviour = "drop";
        const before = await session.inventory();
        const answer = await hookedUpload([...form("app-9", "9"), file(png())]);
        webhook.behaviour = "decide";
        expectError(answer, 503, "AUTH_UNAVAILABLE");
        await session.expectUntouched(before);
      });

      if (exhaustive) {
        it("judges the fields before asking the webhook (SECURITY.md)", async () => {
          webhook.behaviour = "decide";
          const before = await session.inventory();
          const asked = webhook.calls.length;
          expectError(
            await hookedUpload([...form("app-7", "not a uid"), file(png())]),
            400,
            "INVALID_UID",
          );
          expectError(
            await hookedUpload([...form("app-7", "7", { op: "delete" }), file(png())]),
            400,
            "UNKNOWN_OP",
          );
          expect(webhook.calls.length).toBe(asked);
          await session.expectUntouched(before);
        });

        it("caches an allowed token+uid briefly, never a denial, never across uids", async () => {
          webhook.behaviour = "decide";
          const calls = () => webhook.calls.length;
          const start = calls();
          for (let i = 0; i < 3; i++) {
            const answer = await hookedUpload([
              ...form("app-21", "21", { mid: String(i) }),
              file(png()),
            ]);
            expect(answer.status).toBe(200);
          }
          expect(calls() - start).toBe(1);
          // Another uid with the same token is a new question (and a "no").
          expectError(
            await hookedUpload([...form("app-21", "22"), file(png())]),
            401,
            "UNAUTHORIZED",
          );
          expectError(
            await hookedUpload([...form("app-21", "22"), file(png())]),
            401,
            "UNAUTHORIZED",
          );
          expect(calls() - start).toBe(3);
          expect(hooked.stdout() + hooked.stderr()).not.toContain("app-21");
        });

        it("answers 503 when the backend times out, and 401 to a redirect it does not follow", async () => {
          const before = await session.inventory();
          webhook.behaviour = "hang";
          const started = Date.now();
          const slow = await hookedUpload([...form("app-31", "31"), file(png())]);
          expectError(slow, 503, "AUTH_UNAVAILABLE");
          expect(Date.now() - started).toBeLessThan(5000);
          webhook.behaviour = "redirect";
          const calls = webhook.calls.length;
          expectError(
            await hookedUpload([...form("app-32", "32"), file(png())]),
            401,
            "UNAUTHORIZED",
          );
          expect(webhook.calls.length - calls).toBe(1);
          webhook.behaviour = "bad-gateway";
          expectError(
            await hookedUpload([...form("app-33", "33"), file(png())]),
            503,
            "AUTH_UNAVAILABLE",
          );
          webhook.behaviour = "decide";
          await session.expectUntouched(before);
        });

        it("asks once for a file that arrives before its fields", async () => {
          webhook.behaviour = "decide";
          const calls = webhook.calls.length;
          const answer = await hookedUpload([file(png()), ...form("app-41", "41")]);
          expect(answer.status, answer.text).toBe(200);
          expect(webhook.calls.length - calls).toBe(1);
        });

        it("answers 503 when nothing listens at AUTH_WEBHOOK_URL", async () => {
          const closed = await new AuthWebhook().start();
          await closed.stop();
          const gateway = await startGatewayProcess({
            ...session.backend.env,
            AUTH_MODE: "webhook",
            AUTH_WEBHOOK_URL: closed.url,
            PUBLIC_BASE_URL,
            SPOOL_DIR: session.spoolDir,
          });
          try {
            const before = await session.inventory();
            const answer = await postForm(`${gateway.url}/upload`, [
              ...form("app-1", "1"),
              file(png()),
            ]);
            expectError(answer, 503, "AUTH_UNAVAILABLE");
            await session.expectUntouched(before);
          } finally {
            await gateway.stop();
          }
        });
      }
    });
  });
}

/** A token whose payload names another uid, keeping the original signature. */
function forgeUid(original: string, uid: string): string {
  const [version, , signature] = original.split(".");
  const payload = Buffer.from(JSON.stringify({ uid, exp: 4102444800 })).toString("base64url");
  return `${version}.${payload}.${signature}`;
}

function jpeg(): Buffer {
  return Buffer.concat([
    Buffer.from("ffd8ffe000104a46494600010100000100010000", "hex"),
    randomBytes(3000),
  ]);
}

function png100k(): Buffer {
  return png(100_000);
}
