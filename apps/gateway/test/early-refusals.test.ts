/**
 * Refusals decided before the body has all arrived reach the client whole, as JSON, not as a
 * connection reset: the gateway answers, then keeps reading and discarding the rest of the
 * body (bounded) before it closes (lingering close). Driven with Node's fetch and with curl,
 * several clients at once, the way a phone on a fast link meets them. The HTTP layer is the
 * same whatever the backend, so this runs on the local folder.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";

const TOKEN = "early-refusal-token-0123456789";
const MiB = 1024 * 1024;
const run = promisify(execFile);

/** A mesibo form around `size` bytes of file, built once and sent by every client. */
function form(size: number, token: string) {
  const boundary = `early${randomBytes(8).toString("hex")}`;
  const fields = [
    ["op", "upload"],
    ["auth", token],
    ["uid", "42"],
    ["mid", "1"],
    ["source", "0"],
  ]
    .map(([n, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`)
    .join("");
  const body = Buffer.concat([
    Buffer.from(
      `${fields}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    ),
    Buffer.alloc(size, 7),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

describe("early refusals reach the client", () => {
  let dir: string;
  /** MAX_FILE_SIZE=10mb: an 80 MB form is refused from its declared length. */
  let small: GatewayProcess;
  /** MAX_FILE_SIZE=64mb: a 50 MB form fits, and is refused for its token. */
  let roomy: GatewayProcess;
  const big = form(80 * MiB, TOKEN);
  const badToken = form(50 * MiB, "not-the-token-0123456789");
  const gatewayFor = (payload: { body: Buffer }) => (payload === big ? small : roomy);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mediagate-early-"));
    const start = (name: string, max: string) =>
      startGatewayProcess({
        FS_ROOT: join(dir, name),
        AUTH_TOKENS: TOKEN,
        MAX_FILE_SIZE: max,
        SPOOL_DIR: join(dir, `${name}-spool`),
      });
    [small, roomy] = await Promise.all([start("small", "10mb"), start("roomy", "64mb")]);
  });
  afterAll(async () => {
    await Promise.all([small?.stop(), roomy?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function viaFetch(payload: { body: Buffer; contentType: string }) {
    const res = await fetch(`${gatewayFor(payload).url}/upload`, {
      method: "POST",
      headers: { "content-type": payload.contentType },
      // A view, not a copy: fetch takes a Uint8Array as it is.
      body: new Uint8Array(payload.body.buffer, payload.body.byteOffset, payload.body.length),
    });
    return { status: res.status, json: (await res.json()) as { error?: { code?: string } } };
  }

  it.each([
    ["a file far over MAX_FILE_SIZE", () => big, 413, "FILE_TOO_LARGE"],
    ["a bad token with a 50 MB file", () => badToken, 401, "UNAUTHORIZED"],
  ])(
    "%s: every one of 8 concurrent fetch clients reads the JSON",
    async (_name, payload, status, code) => {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => viaFetch(payload()).catch((err: Error) => err)),
      );
      for (const answer of answers) {
        expect(answer).not.toBeInstanceOf(Error);
        expect(answer).toMatchObject({ status, json: { result: false, error: { code } } });
      }
    },
  );

  it("the same through curl, several at once", async () => {
    const bigFile = join(dir, "big.form");
    const badFile = join(dir, "bad.form");
    await writeFile(bigFile, big.body);
    await writeFile(badFile, badToken.body);
    const curl = (file: string, type: string, gateway: GatewayProcess) =>
      run("curl", [
        "-sS",
        "--data-binary",
        `@${file}`,
        "-H",
        `content-type: ${type}`,
        "-H",
        "Expect:",
        "-w",
        "\n%{http_code}",
        `${gateway.url}/upload`,
      ]);
    const runs = await Promise.all([
      ...Array.from({ length: 4 }, () => curl(bigFile, big.contentType, small)),
      ...Array.from({ length: 4 }, () => curl(badFile, badToken.contentType, roomy)),
    ]);
    runs.forEach(({ stdout }, i) => {
      const [json = "", status] = stdout.split("\n");
      const expected = i < 4 ? ["413", "FILE_TOO_LARGE"] : ["401", "UNAUTHORIZED"];
      expect(status).toBe(expected[0]);
      expect(JSON.parse(json)).toMatchObject({ result: false, error: { code: expected[1] } });
    });
  });

  it("stays up and serves a normal upload afterwards", async () => {
    const answer = await viaFetch(form(1000, TOKEN));
    expect(answer.status).toBe(200);
  });
});
