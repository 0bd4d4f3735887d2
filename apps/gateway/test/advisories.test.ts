import { readdirSync } from "node:fs";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fsBackend } from "./backends/fs.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { send, type Answer } from "./support/http.ts";

/**
 * Regression tests for the triggers of the published multer advisories, against the running
 * gateway (fs backend): each answers JSON 4xx, leaves storage untouched, and the process
 * keeps serving with no unhandled error.
 */
const session = new BackendSession(fsBackend);
beforeAll(() => session.start(), 60_000);
afterAll(() => session.stop(), 60_000);

const B = "----AdvisoryBoundary";
const CT = `multipart/form-data; boundary=${B}`;
const field = (name: string, value: string) =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fields = (
  [
    ["op", "upload"],
    ["auth", TOKEN],
    ["uid", "42"],
    ["mid", "7"],
    ["source", "message"],
  ] as const
)
  .map(([name, value]) => field(name, value))
  .join("");
const filePart = (name: string, filename: string, body: string) =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
  `Content-Type: application/octet-stream\r\n\r\n${body}\r\n`;

const post = (body: string, contentType = CT) =>
  send(`${session.gateway.url}/upload`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body,
  });

async function expectRefusedAndAlive(answer: Answer, codes: string[]) {
  const before = { objects: [] as string[] };
  expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
  expect(answer.status).toBeLessThan(500);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  const body = answer.json as { result: boolean; error: { code: string } };
  expect(body.result).toBe(false);
  expect(codes).toContain(body.error.code);
  await session.expectUntouched(before);
  expect((await send(`${session.gateway.url}/healthz`)).status).toBe(200);
  expect(session.gateway.logs().filter((l) => /unhandled|uncaught/i.test(String(l.msg)))).toEqual(
    [],
  );
  expect(session.gateway.stderr()).not.toMatch(/uncaught|unhandled/i);
}

describe("multer advisories: their triggers against the gateway", () => {
  it("CVE-2025-47944 (GHSA-4pg4-qvpc-4q3h): a malformed multipart body without its closing boundary", async () => {
    await expectRefusedAndAlive(await post(`${fields}--${B}\r\nContent-Disposition: form-d`), [
      "MALFORMED_MULTIPART",
    ]);
  });

  it("CVE-2025-7338 (GHSA-fjgf-rc76-4x9p): empty file name and a truncated final boundary (multer#1338)", async () => {
    await expectRefusedAndAlive(await post(`${filePart("image", "", "")}\r\n--${B.slice(0, -1)}`), [
      "MALFORMED_MULTIPART",
      "MISSING_FILE",
    ]);
    await expectRefusedAndAlive(
      await post(`${fields}${filePart("image", "", "x")}\r\n--${B.slice(0, -1)}`),
      ["MALFORMED_MULTIPART"],
    );
  });

  it("CVE-2025-48997 (GHSA-g5hg-p3ph-g8qg): an empty field name, on a field and on the file", async () => {
    await expectRefusedAndAlive(await post(`${field("", "x")}${fields}--${B}--\r\n`), [
      "MISSING_FILE",
      "BAD_REQUEST",
      "MALFORMED_MULTIPART",
    ]);
    await expectRefusedAndAlive(
      await post(`${field("", "x")}${filePart("", "a.bin", "data")}--${B}--\r\n`),
      ["MISSING_FILE", "BAD_REQUEST", "MALFORMED_MULTIPART", "UNKNOWN_OP", "UNAUTHORIZED"],
    );
  });

  it("deep field nesting (a[b][c]…) and huge array indices (a[99999999]) stay plain refusals", async () => {
    const deep = `a${"[b]".repeat(20)}`.slice(0, 60);
    for (const name of [
      deep,
      "a[99999999]",
      "__proto__[polluted]",
      "constructor[prototype][polluted]",
    ]) {
      await expectRefusedAndAlive(await post(`${field(name, "1")}${fields}--${B}--\r\n`), [
        "MISSING_FILE",
        "BAD_REQUEST",
        "TOO_MANY_FIELDS",
        "FIELD_TOO_LARGE",
      ]);
    }
    // A name past the field-name limit is refused by the limit, not parsed into objects.
    await expectRefusedAndAlive(
      await post(`${field(`a${"[b]".repeat(500)}`, "1")}${fields}--${B}--\r\n`),
      ["FIELD_TOO_LARGE"],
    );
    expect(session.gateway.peakRss()).toBeLessThan(400 * 1024 * 1024);
  });

  it("a huge array index then a key on the same name (x[2115992189], x[k]) is refused before it is parsed", async () => {
    // append-field would turn the sparse array into an object slot by slot: a minute of one
    // core for this 100-byte form (found by the fuzz suite), the gateway frozen meanwhile.
    const form = `${field("x[2115992189]", "1")}${field("x[k]", "2")}${fields}--${B}--\r\n`;
    await expectRefusedAndAlive(await post(form), ["BAD_REQUEST"]);
    // After a file already streaming into storage: refused the same, and the file removed.
    await expectRefusedAndAlive(
      await post(
        `${fields}${filePart("file", "a.bin", "x".repeat(100_000))}${field("a[0]", "1")}--${B}--\r\n`,
      ),
      ["BAD_REQUEST"],
    );
  });

  it("CVE-2025-47935 (GHSA-44fp-w29j-9vj5): request streams that fail mid-upload release their streams", async () => {
    const fdCount = () => readdirSync(`/proc/${session.gateway.pid}/fd`).length;
    const baseline = fdCount();
    const head = `${fields}--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n`;
    const { hostname, port } = new URL(session.gateway.url);
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => {
        const req = request({
          host: hostname,
          port,
          path: "/upload",
          method: "POST",
          headers: { "Content-Type": CT, "Content-Length": "10000000" },
          agent: false,
        });
        req.on("error", () => resolve());
        req.on("close", () => resolve());
        req.write(head + "x".repeat(64 * 1024), () => setImmediate(() => req.destroy()));
      });
    }
    await session.expectUntouched({ objects: [] });
    // Every stream and file the aborted requests opened is released again.
    await expect.poll(fdCount, { timeout: 10_000 }).toBeLessThanOrEqual(baseline + 2);
    expect((await send(`${session.gateway.url}/healthz`)).status).toBe(200);
  });

  it("async-filter race: a refusal decided while a second file still streams leaves nothing and no unhandled error", async () => {
    const big = "y".repeat(512 * 1024);
    // Two files: the second trips the one-file limit while the first may still be writing.
    await expectRefusedAndAlive(
      await post(
        `${fields}${filePart("a", "a.bin", big)}${filePart("b", "b.bin", big)}--${B}--\r\n`,
      ),
      ["TOO_MANY_FILES"],
    );
    // A bad token decided after the file was spooled, with more parts after it.
    await expectRefusedAndAlive(
      await post(
        `${filePart("file", "a.bin", big)}${field("op", "upload")}${field("auth", "wrong-token-0000000000")}` +
          `${field("uid", "1")}${field("mid", "1")}${field("source", "message")}${field("extra", "z")}--${B}--\r\n`,
      ),
      ["UNAUTHORIZED"],
    );
  });
});
