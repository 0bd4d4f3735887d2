/**
 * The CLI as an operator meets it: src/main.ts started as a process with a given environment.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send, postForm } from "./support/http.ts";
import { runGatewayToExit, startGatewayProcess } from "./support/gateway-process.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-cli-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("configuration errors", () => {
  it.each([
    [{ MAX_FILE_SIZE: "huge" }, "MAX_FILE_SIZE"],
    [{ PORT: "http" }, "PORT"],
    [{ STORAGE_PROVIDER: "ftp" }, "STORAGE_PROVIDER"],
    [{ PUBLIC_BASE_URL: "not a url" }, "PUBLIC_BASE_URL"],
    [{ AUTH_TOKENS: "tiny" }, "AUTH_TOKENS"],
    [{ NODE_ENV: "production" }, "AUTH_TOKENS"],
  ])("%j stops start-up with one line naming %s and exit code 2", async (env, variable) => {
    const { code, stdout, stderr } = await runGatewayToExit({ FS_ROOT: dir, ...env });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    const lines = stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^mediagate: Invalid configuration: .*${variable}`));
    expect(stderr).not.toMatch(/\s+at\s|Error:/);
  });

  it("a port already in use stops start-up with one line", async () => {
    const first = await startGatewayProcess({
      FS_ROOT: dir,
      AUTH_TOKENS: "cli-test-token-0123456789",
    });
    try {
      const port = new URL(first.url).port;
      const { code, stderr } = await runGatewayToExit({
        FS_ROOT: dir,
        AUTH_TOKENS: "cli-test-token-0123456789",
        PORT: port,
        HOST: "127.0.0.1",
      });
      expect(code).toBe(2);
      expect(stderr.trimEnd().split("\n")).toEqual([
        expect.stringMatching(/^mediagate: cannot start: .*EADDRINUSE/),
      ]);
    } finally {
      await first.stop();
    }
  });
});

describe("start-up", () => {
  it("without AUTH_TOKENS prints a generated token with a curl example, and accepts it", async () => {
    const gateway = await startGatewayProcess({ FS_ROOT: join(dir, "generated") });
    try {
      // stderr and stdout are separate pipes: the banner may arrive after the listening line.
      await expect.poll(() => /^ {2}([0-9a-f]{64})$/m.test(gateway.stderr())).toBe(true);
      const stderr = gateway.stderr();
      const token = /^ {2}([0-9a-f]{64})$/m.exec(stderr)?.[1];
      expect(stderr).toContain(
        `curl -F op=upload -F auth=${token} -F uid=1 -F mid=1 -F source=message -F file=@photo.jpg`,
      );
      // The token is shown once to the operator, never in the JSON log.
      expect(gateway.stdout()).not.toContain(String(token));
      const answer = await postForm(`${gateway.url}/upload`, [
        { name: "op", value: "upload" },
        { name: "auth", value: String(token) },
        { name: "uid", value: "1" },
        { name: "mid", value: "1" },
        { name: "source", value: "message" },
        { name: "file", filename: "a.txt", type: "text/plain", body: "hi" },
      ]);
      expect(answer.status).toBe(200);
    } finally {
      await gateway.stop();
    }
  });

  it("reads a .env file from the folder npm was started in, below real variables", async () => {
    await writeFile(
      join(dir, ".env"),
      "AUTH_TOKENS=dotenv-token-0123456789\nMAX_FILE_SIZE=1kb\nFS_ROOT=./from-dotenv\n",
    );
    // npm sets INIT_CWD; the process itself runs elsewhere (npm runs workspace scripts inside
    // the workspace).
    const gateway = await startGatewayProcess(
      { INIT_CWD: dir, MAX_FILE_SIZE: "2kb" },
      { cwd: tmpdir() },
    );
    try {
      const listening = gateway.logs().find((l) => l.msg === "mediagate is listening");
      expect(listening?.maxFileSize).toBe("2kb");
      const answer = await postForm(`${gateway.url}/upload`, [
        { name: "op", value: "upload" },
        { name: "auth", value: "dotenv-token-0123456789" },
        { name: "uid", value: "1" },
        { name: "mid", value: "1" },
        { name: "source", value: "message" },
        { name: "file", filename: "a.txt", type: "text/plain", body: "x".repeat(1500) },
      ]);
      expect(answer.status).toBe(200);
      const url = (answer.json as { url: string }).url;
      const { pathname } = new URL(url);
      const download = await send(`${gateway.url}${pathname}`);
      expect(download.text).toBe("x".repeat(1500));
      expect(existsSync(join(dir, "from-dotenv", pathname.slice("/files/".length)))).toBe(true);
    } finally {
      await gateway.stop();
    }
  });

  it("removes spooled parts older than LEFTOVER_AGE, left by a process that died, and keeps fresh ones", async () => {
    const spoolDir = join(dir, "spool");
    await mkdir(spoolDir, { recursive: true });
    const old = join(spoolDir, `spool-${"0".repeat(32)}`);
    const fresh = join(spoolDir, `spool-${"1".repeat(32)}`);
    await writeFile(old, "old");
    await writeFile(fresh, "fresh");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    const gateway = await startGatewayProcess({
      FS_ROOT: dir,
      AUTH_TOKENS: "cli-test-token-0123456789",
      SPOOL_DIR: spoolDir,
    });
    try {
      await expect
        .poll(() => gateway.logs().find((l) => l.msg === "removed stale spooled parts")?.files)
        .toBe(1);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
    } finally {
      await gateway.stop();
    }
  });

  it("stops with exit code 0 on SIGTERM when idle", async () => {
    const gateway = await startGatewayProcess({
      FS_ROOT: dir,
      AUTH_TOKENS: "cli-test-token-0123456789",
    });
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(gateway.logs().map((l) => l.msg)).toContain("shut down");
  });
});

describe("download URLs without PUBLIC_BASE_URL", () => {
  const form = (token: string) => [
    { name: "op", value: "upload" },
    { name: "auth", value: token },
    { name: "uid", value: "1" },
    { name: "mid", value: "1" },
    { name: "source", value: "message" },
    { name: "file", filename: "a.jpg", type: "image/jpeg", body: "x" },
  ];
  const TOKEN = "cli-test-token-0123456789";
  const forwarded = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "media.example.org" };

  it("use the origin the upload reached, and ignore X-Forwarded-* unless TRUST_PROXY", async () => {
    const gateway = await startGatewayProcess({ FS_ROOT: dir, AUTH_TOKENS: TOKEN });
    try {
      const direct = await postForm(`${gateway.url}/upload`, form(TOKEN), {
        Host: "phone-visible.example:8080",
      });
      expect((direct.json as { url: string }).url).toMatch(
        /^http:\/\/phone-visible\.example:8080\/files\//,
      );
      const spoofed = await postForm(`${gateway.url}/upload`, form(TOKEN), forwarded);
      expect((spoofed.json as { url: string }).url.startsWith(`${gateway.url}/files/`)).toBe(true);
    } finally {
      await gateway.stop();
    }
  });

  it("use X-Forwarded-Proto and -Host from a trusted proxy", async () => {
    const gateway = await startGatewayProcess({
      FS_ROOT: dir,
      AUTH_TOKENS: TOKEN,
      TRUST_PROXY: "1",
    });
    try {
      const answer = await postForm(`${gateway.url}/upload`, form(TOKEN), forwarded);
      expect((answer.json as { url: string }).url).toMatch(
        /^https:\/\/media\.example\.org\/files\//,
      );
    } finally {
      await gateway.stop();
    }
  });
});
