/**
 * SPOOL_MAX_BYTES through a real gateway process: parts that arrive before their fields are
 * spooled to disk before any token is checked, so their total is capped. The spool is local
 * whatever the backend, so this runs on the local-folder backend only.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fsBackend } from "./backends/fs.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { runGatewayToExit } from "./support/gateway-process.ts";
import { expectRefusal, uploadForm, uploadedUrl } from "./support/forms.ts";
import { openUpload, postForm, send } from "./support/http.ts";
import { bytesUnder } from "./support/files.ts";
import { closing, partHead } from "./support/multipart.ts";

const KIB = 1024;
const SPOOL_MAX_BYTES = 1024 * KIB;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
/**
 * The multipart parser holds back the last few bytes of what it has received while they
 * could still be the start of the next boundary, so a part sent so far is spooled short of
 * its last bytes.
 */
const BOUNDARY_SLACK = 128;

/** A file-first upload the test writes by hand, so it can hold the part in the spool. */
function openFileFirstUpload(url: string) {
  const boundary = `----mediagate-spool-${randomBytes(8).toString("hex")}`;
  const { req, answer } = openUpload(url, boundary);
  req.write(
    partHead(boundary, {
      name: "file",
      filename: "held.bin",
      type: "application/octet-stream",
      body: "",
    }),
  );
  const finish = () => {
    const fields = Object.entries({
      op: "upload",
      auth: TOKEN,
      uid: "42",
      mid: "7",
      source: "message",
    }).map(([name, value]) =>
      Buffer.concat([partHead(boundary, { name, value }), Buffer.from(`${value}\r\n`)]),
    );
    req.end(Buffer.concat([Buffer.from("\r\n"), ...fields, closing(boundary)]));
  };
  return { req, answer, finish };
}

describe("SPOOL_MAX_BYTES", () => {
  const session = new BackendSession(fsBackend);
  beforeAll(() =>
    session.start({ SPOOL_MAX_BYTES: String(SPOOL_MAX_BYTES), MAX_FILE_SIZE: "1mb" }),
  );
  afterAll(() => session.stop());

  const postFileFirst = (body: Buffer) =>
    postForm(
      `${session.gateway.url}/upload`,
      uploadForm(
        {},
        { body, filename: "early.bin", type: "application/octet-stream" },
        {
          fileFirst: true,
        },
      ),
    );

  it("refuses a file-first part that would take the spool over the budget; others carry on", async () => {
    const before = await session.inventory();
    // One upload holds 700 KiB in the spool, its fields not sent yet.
    const held = openFileFirstUpload(session.gateway.url);
    const heldBytes = randomBytes(700 * KIB);
    held.req.write(heldBytes);
    await expect
      .poll(() => bytesUnder(session.spoolDir), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(heldBytes.length - BOUNDARY_SLACK);
    const spooled = await bytesUnder(session.spoolDir);

    // 500 KiB more cannot fit in 1 MiB: refused, nothing of it kept, nothing stored.
    expectRefusal(await postFileFirst(randomBytes(500 * KIB)), 503, "SPOOL_FULL");
    expect(await bytesUnder(session.spoolDir)).toBe(spooled);
    expect(await session.inventory()).toEqual(before);

    // Uploads that are never spooled (fields first) are not affected by the budget.
    const streamed = randomBytes(500 * KIB);
    const streamedUrl = uploadedUrl(
      await postForm(`${session.gateway.url}/upload`, uploadForm({}, { body: streamed })),
    );
    expect(sha256((await send(session.local(streamedUrl))).body)).toBe(sha256(streamed));
    // A small file-first part still fits beside the held one.
    expect((await postFileFirst(randomBytes(200 * KIB))).status).toBe(200);

    // The held upload completes with its bytes intact, and gives its share back.
    held.finish();
    const answer = await held.answer;
    if (answer instanceof Error) throw answer;
    const heldUrl = uploadedUrl(answer);
    expect(sha256((await send(session.local(heldUrl))).body)).toBe(sha256(heldBytes));
    const again = randomBytes(500 * KIB);
    const againUrl = uploadedUrl(await postFileFirst(again));
    expect(sha256((await send(session.local(againUrl))).body)).toBe(sha256(again));

    expect(await session.spoolFiles()).toEqual([]);
    expect((await send(`${session.gateway.url}/healthz`)).status).toBe(200);
  });

  it("gives the budget back when a spooled upload fails or its client hangs up", async () => {
    // A wrong token after the file: refused once the fields arrive, spooled part removed.
    const refused = await postForm(
      `${session.gateway.url}/upload`,
      uploadForm(
        { auth: "not-the-token-at-all" },
        { body: randomBytes(900 * KIB), type: "application/octet-stream" },
        { fileFirst: true },
      ),
    );
    expectRefusal(refused, 401, "UNAUTHORIZED");
    // A client that disconnects with 900 KiB in the spool.
    const dropped = openFileFirstUpload(session.gateway.url);
    dropped.req.write(randomBytes(900 * KIB));
    await expect
      .poll(() => bytesUnder(session.spoolDir), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(900 * KIB - BOUNDARY_SLACK);
    dropped.req.destroy();
    expect(await dropped.answer).toBeInstanceOf(Error);
    await expect.poll(() => session.spoolFiles(), { timeout: 10_000 }).toEqual([]);
    // Had either kept its share, a 1 MiB part would no longer fit.
    expect((await postFileFirst(randomBytes(SPOOL_MAX_BYTES))).status).toBe(200);
    expect(await session.spoolFiles()).toEqual([]);
  });

  it("refuses to start with a budget smaller than one file, in one line", async () => {
    const { code, stderr } = await runGatewayToExit({
      AUTH_TOKENS: TOKEN,
      FS_ROOT: session.spoolDir,
      MAX_FILE_SIZE: "2mb",
      SPOOL_MAX_BYTES: "1mb",
    });
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/SPOOL_MAX_BYTES must be at least MAX_FILE_SIZE/),
    ]);
  });

  it("answers many concurrent file-first uploads each stored or SPOOL_FULL, and gives the whole budget back", async () => {
    const before = await session.inventory();
    // Ten 400 KiB parts at once: at most two fit in 1 MiB at any moment.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => postFileFirst(randomBytes(400 * KIB))),
    );
    const statuses = answers.map((a) => a.status);
    // How many overlap depends on scheduling (the first test proves the refusal itself);
    // each answer is one or the other, never worse.
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    for (const answer of answers.filter((a) => a.status === 503)) {
      expectRefusal(answer, 503, "SPOOL_FULL");
    }
    const stored = answers.filter((a) => a.status === 200).length;
    expect((await session.inventory()).objects.length).toBe(before.objects.length + stored);
    expect(await session.spoolFiles()).toEqual([]);
    // Every refused part gave its share back: the whole budget is free again.
    expect((await postFileFirst(randomBytes(SPOOL_MAX_BYTES))).status).toBe(200);
    expect((await send(`${session.gateway.url}/healthz`)).status).toBe(200);
  });
});
