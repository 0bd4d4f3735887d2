/**
 * The auth settings as an operator meets them: bad AUTH_* configuration stops start-up with
 * one line, and `mediagate token` mints tokens the gateway's signed mode accepts.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyUploadToken } from "@mediagate/tokens";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGatewayToExit } from "./support/gateway-process.ts";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../src/main.ts");
const SECRET = "cli-signing-secret-0123456789abcdef";
const OLD_SECRET = "cli-signing-secret-older-0123456789";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-auth-cli-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function token(args: string[], env: Record<string, string>, cwd = dir) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=source", MAIN, "token", ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, cwd, timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("auth configuration errors", () => {
  it.each([
    [{ AUTH_MODE: "ldap" }, "AUTH_MODE"],
    [{ AUTH_MODE: "signed" }, "AUTH_SIGNING_SECRETS is required"],
    [{ AUTH_MODE: "signed", AUTH_SIGNING_SECRETS: "short" }, "AUTH_SIGNING_SECRETS secret 1"],
    [{ AUTH_MODE: "webhook" }, "AUTH_WEBHOOK_URL is required"],
    [{ AUTH_MODE: "webhook", AUTH_WEBHOOK_URL: "ftp://x" }, "AUTH_WEBHOOK_URL"],
    [
      {
        AUTH_MODE: "signed",
        AUTH_SIGNING_SECRETS: SECRET,
        AUTH_TOKENS: "a-shared-token-0123456789",
      },
      "AUTH_TOKENS is only used with AUTH_MODE=tokens",
    ],
    [
      { AUTH_MODE: "webhook", AUTH_WEBHOOK_URL: "http://127.0.0.1:9/", AUTH_WEBHOOK_TIMEOUT: "x" },
      "AUTH_WEBHOOK_TIMEOUT",
    ],
    [
      {
        AUTH_MODE: "webhook",
        AUTH_WEBHOOK_URL: "http://127.0.0.1:9/",
        AUTH_WEBHOOK_CACHE_SIZE: "0",
      },
      "AUTH_WEBHOOK_CACHE_SIZE",
    ],
  ])("%j stops start-up with one line naming %s", async (env, expected) => {
    const { code, stdout, stderr } = await runGatewayToExit({ FS_ROOT: dir, ...env });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    const lines = stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mediagate: Invalid configuration: /);
    expect(lines[0]).toContain(expected);
    // A secret never appears in an error message.
    expect(stderr).not.toContain(SECRET);
  });
});

describe("mediagate token", () => {
  it("prints a token for the uid, minted with the newest secret, valid for the ttl", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { code, stdout, stderr } = await token(["--uid", "42", "--ttl", "2h"], {
      AUTH_SIGNING_SECRETS: `${SECRET},${OLD_SECRET}`,
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const minted = stdout.trim();
    expect(stdout).toBe(`${minted}\n`);
    const verified = verifyUploadToken(minted, { secrets: [SECRET], uid: "42" });
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.claims.exp - before).toBeGreaterThanOrEqual(7200);
    expect(verified.claims.exp - before).toBeLessThanOrEqual(7210);
    expect(verifyUploadToken(minted, { secrets: [OLD_SECRET], uid: "42" }).ok).toBe(false);
    expect(verifyUploadToken(minted, { secrets: [SECRET], uid: "7" }).ok).toBe(false);
  });

  it("reads the secret from a .env file in the folder it runs in", async () => {
    const envDir = await mkdtemp(join(dir, "dotenv-"));
    await writeFile(join(envDir, ".env"), `AUTH_SIGNING_SECRETS=${SECRET}\n`);
    const { code, stdout } = await token(["--uid", "5"], {}, envDir);
    expect(code).toBe(0);
    const verified = verifyUploadToken(stdout.trim(), { secrets: [SECRET], uid: "5" });
    expect(verified.ok && verified.claims.exp - Date.now() / 1000).toBeGreaterThan(86_000);
  });

  it.each([
    [["--uid", "42"], {}, "AUTH_SIGNING_SECRETS is not set"],
    [["--uid", "42"], { AUTH_SIGNING_SECRETS: "short" }, "AUTH_SIGNING_SECRETS secret 1"],
    [[], { AUTH_SIGNING_SECRETS: SECRET }, "--uid"],
    [["--uid", "alice"], { AUTH_SIGNING_SECRETS: SECRET }, "--uid"],
    [["--uid", "42", "--ttl", "forever"], { AUTH_SIGNING_SECRETS: SECRET }, "--ttl"],
    [["--uid", "42", "--bogus"], { AUTH_SIGNING_SECRETS: SECRET }, "bogus"],
  ])("%j fails with exit code 2 and one message (%#)", async (args, env, expected) => {
    const { code, stdout, stderr } = await token(args, env);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^mediagate token: /);
    expect(stderr).toContain(expected);
    expect(stderr).not.toMatch(/\s+at\s/);
  });
});
