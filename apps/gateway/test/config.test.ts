import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { formatSize, parseDuration, parseSize } from "../src/config/units.ts";

const TOKEN = "config-test-token-0123456789";
const load = (env: Record<string, string | undefined>) =>
  loadConfig({ AUTH_TOKENS: TOKEN, ...env }, "/srv/mediagate");

/** The one-line message a bad configuration produces. */
function problem(env: Record<string, string | undefined>): string {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a configuration error");
}

describe("sizes and durations", () => {
  it.each([
    ["1048576", 1048576],
    ["25mb", 25 * 1024 * 1024],
    ["25MB", 25 * 1024 * 1024],
    ["1.5 GB", 1.5 * 1024 ** 3],
    ["512kb", 512 * 1024],
    ["10b", 10],
    ["2GiB", 2 * 1024 ** 3],
  ])("parses %s", (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(["", "mb", "25 parsecs", "-1mb", "1e9", "0x10"])("rejects %j", (text) => {
    expect(parseSize(text)).toBeUndefined();
  });

  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["45", 45_000],
  ])("parses the duration %s", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it("formats sizes for people", () => {
    expect(formatSize(100 * 1024 * 1024)).toBe("100mb");
    expect(formatSize(1000)).toBe("1000 bytes");
  });
});

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = load({});
    expect(config.storage.provider.name).toBe("fs");
    expect(config.storage.env).toEqual({ FS_ROOT: "/srv/mediagate/data" });
    expect(config.storage.createBucket).toBe(true);
    expect(config.server).toEqual({
      port: 8080,
      host: "0.0.0.0",
      logLevel: "info",
      production: false,
      trustProxy: false,
      headersTimeoutMs: 30_000,
      idleTimeoutMs: 60_000,
      shutdownTimeoutMs: 30_000,
    });
    expect(config.upload).toEqual({
      maxFileSize: 100 * 1024 * 1024,
      allowedTypes: undefined,
      storageTimeoutMs: 60_000,
      spool: { dir: undefined, maxBytes: 1024 ** 3 },
      leftoverAgeMs: 15 * 60_000,
      abandonedUploadAgeMs: 24 * 60 * 60_000,
    });
    expect(config.download.publicBaseUrl).toBeUndefined();
  });

  it("never lets the default spool budget be smaller than one file", () => {
    expect(load({ MAX_FILE_SIZE: "2gb" }).upload.spool.maxBytes).toBe(2 * 1024 ** 3);
    expect(load({ MAX_FILE_SIZE: "2gb", SPOOL_MAX_BYTES: "3gb" }).upload.spool.maxBytes).toBe(
      3 * 1024 ** 3,
    );
  });

  it("reads every variable", () => {
    const config = load({
      AUTH_TOKENS: ` ${TOKEN} , second-token-abcdefghijkl ,`,
      FS_ROOT: "/var/media",
      STORAGE_CREATE_BUCKET: "false",
      PUBLIC_BASE_URL: "https://media.example.com/gw/",
      TRUST_PROXY: "1",
      MAX_FILE_SIZE: "25mb",
      ALLOWED_TYPES: "image/*, video/mp4",
      PORT: "9000",
      HOST: "127.0.0.1",
      LOG_LEVEL: "DEBUG",
      HEADERS_TIMEOUT: "10s",
      IDLE_TIMEOUT: "2m",
      SHUTDOWN_TIMEOUT: "5",
      SPOOL_DIR: "spool",
      SPOOL_MAX_BYTES: "512mb",
    });
    expect(config).toMatchObject({
      auth: { tokens: [TOKEN, "second-token-abcdefghijkl"] },
      storage: { env: { FS_ROOT: "/var/media" }, createBucket: false },
      download: { publicBaseUrl: "https://media.example.com/gw" },
      server: {
        trustProxy: 1,
        port: 9000,
        host: "127.0.0.1",
        logLevel: "debug",
        headersTimeoutMs: 10_000,
        idleTimeoutMs: 120_000,
        shutdownTimeoutMs: 5_000,
      },
      upload: {
        maxFileSize: 25 * 1024 * 1024,
        allowedTypes: ["image/*", "video/mp4"],
        spool: { dir: "/srv/mediagate/spool", maxBytes: 512 * 1024 * 1024 },
      },
    });
  });

  it("treats empty variables as unset", () => {
    expect(load({ MAX_FILE_SIZE: "", PORT: " ", PUBLIC_BASE_URL: "" }).server.port).toBe(8080);
  });

  it.each([
    [
      { MAX_FILE_SIZE: "lots" },
      /^Invalid configuration: MAX_FILE_SIZE must be a size in bytes or like 25mb$/,
    ],
    [{ PORT: "80a" }, /^Invalid configuration: PORT must be a whole number from 0 to 65535/],
    [{ PORT: "70000" }, /PORT must be a whole number from 0 to 65535/],
    [{ STORAGE_PROVIDER: "dropbox" }, /^Invalid configuration: STORAGE_PROVIDER must be one of fs/],
    [{ PUBLIC_BASE_URL: "media.example.com" }, /PUBLIC_BASE_URL must be an absolute URL/],
    [{ PUBLIC_BASE_URL: "ftp://media.example.com" }, /PUBLIC_BASE_URL must be an http\(s\) URL/],
    [
      { PUBLIC_BASE_URL: "https://x.example/?a=1" },
      /PUBLIC_BASE_URL must be an http\(s\) URL without credentials, query/,
    ],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of fatal, error/],
    [
      { SPOOL_MAX_BYTES: "lots" },
      /^Invalid configuration: SPOOL_MAX_BYTES must be a size in bytes or like 1gb$/,
    ],
    [{ SPOOL_MAX_BYTES: "0" }, /SPOOL_MAX_BYTES must be a size/],
    [
      { SPOOL_MAX_BYTES: "10mb" },
      /^Invalid configuration: SPOOL_MAX_BYTES must be at least MAX_FILE_SIZE/,
    ],
    [{ IDLE_TIMEOUT: "soon" }, /IDLE_TIMEOUT must be a duration like 60s/],
    [{ STORAGE_CREATE_BUCKET: "maybe" }, /STORAGE_CREATE_BUCKET must be true or false/],
    [{ TRUST_PROXY: "everyone" }, /TRUST_PROXY must be true, false or a number/],
    [{ ALLOWED_TYPES: "images" }, /ALLOWED_TYPES "images" is not a media type/],
    [{ AUTH_TOKENS: "short" }, /AUTH_TOKENS token 1 is shorter than 16 characters/],
    [{ AUTH_TOKENS: "," }, /AUTH_TOKENS must list at least one token/],
    [
      { AUTH_TOKENS: undefined, NODE_ENV: "production" },
      /AUTH_TOKENS is required when NODE_ENV=production/,
    ],
  ])("refuses %j with one line naming the variable", (env, message) => {
    expect(problem(env)).toMatch(message);
  });

  it("reports every bad variable at once, gateway's and provider's", () => {
    const message = problem({ MAX_FILE_SIZE: "x", PORT: "y", FS_ROOT: "data\0" });
    expect(message).toMatch(/MAX_FILE_SIZE/);
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/FS_ROOT/);
  });

  it("never repeats a token in an error message", () => {
    const secret = "almost-a-token";
    expect(problem({ AUTH_TOKENS: `${TOKEN},${secret}` })).not.toContain(secret);
  });

  it("starts without tokens outside production (main.ts then generates one)", () => {
    expect(load({ AUTH_TOKENS: undefined }).auth.tokens).toEqual([]);
  });
});
