import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";

const TOKEN = "config-test-token-0123456789";
const load = (env: Record<string, string | undefined>) =>
  loadConfig({ AUTH_TOKENS: TOKEN, ...env }, "/srv/mediagate");

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

describe("DOWNLOAD_MODE and its variables", () => {
  it("defaults to proxy with 5-minute redirect URLs", () => {
    expect(load({}).download).toMatchObject({
      mode: "proxy",
      redirectTtlSeconds: 300,
      publicObjectBaseUrl: undefined,
    });
  });

  it("reads redirect with its TTL, and direct with its public base URL", () => {
    expect(load({ DOWNLOAD_MODE: "Redirect", REDIRECT_URL_TTL: "90s" }).download).toMatchObject({
      mode: "redirect",
      redirectTtlSeconds: 90,
    });
    expect(
      load({ DOWNLOAD_MODE: "direct", PUBLIC_OBJECT_BASE_URL: "https://cdn.example.com/m/" })
        .download,
    ).toMatchObject({ mode: "direct", publicObjectBaseUrl: "https://cdn.example.com/m" });
  });

  it.each([
    [
      { DOWNLOAD_MODE: "stream" },
      /^Invalid configuration: DOWNLOAD_MODE must be one of proxy, redirect, direct$/,
    ],
    [{ REDIRECT_URL_TTL: "169h" }, /REDIRECT_URL_TTL must be from 1s to 7 days/],
    [{ REDIRECT_URL_TTL: "500ms" }, /REDIRECT_URL_TTL must be from 1s to 7 days/],
    [{ REDIRECT_URL_TTL: "soon" }, /REDIRECT_URL_TTL must be a duration/],
    [{ DOWNLOAD_MODE: "direct" }, /PUBLIC_OBJECT_BASE_URL is required when DOWNLOAD_MODE=direct/],
    [
      { DOWNLOAD_MODE: "direct", PUBLIC_OBJECT_BASE_URL: "cdn.example.com" },
      /PUBLIC_OBJECT_BASE_URL must be an absolute URL/,
    ],
    [
      { PUBLIC_OBJECT_BASE_URL: "https://cdn.example.com" },
      /PUBLIC_OBJECT_BASE_URL is only used with DOWNLOAD_MODE=direct/,
    ],
  ])("refuses %j in one line naming the variable", (env, message) => {
    expect(problem(env)).toMatch(message);
  });
});

describe("abuse limits", () => {
  it("cap connections and uploads per address, and the body rate, by default", () => {
    expect(load({}).limits).toMatchObject({
      connectionsPerAddress: 256,
      maxUploadsPerAddress: 256,
      minBytesPerSecond: 512,
      rateWindowMs: 60_000,
      fieldsTimeoutMs: 30_000,
    });
  });

  it("leave the connection cap to the proxy behind TRUST_PROXY, and turn off with 0", () => {
    expect(load({ TRUST_PROXY: "1" }).limits.connectionsPerAddress).toBeUndefined();
    expect(load({ MAX_CONNECTIONS_PER_IP: "0" }).limits.connectionsPerAddress).toBeUndefined();
    expect(load({ MAX_UPLOADS_PER_IP: "0", MIN_UPLOAD_RATE: "0" }).limits).toMatchObject({
      maxUploadsPerAddress: 0,
      minBytesPerSecond: 0,
    });
  });

  it.each([
    ["MAX_CONNECTIONS_PER_IP", "-1"],
    ["MAX_UPLOADS_PER_IP", "many"],
    ["MIN_UPLOAD_RATE", "1.5"],
    ["FIELDS_TIMEOUT", "soon"],
  ])("refuses %s=%s in one line", (name, value) => {
    expect(problem({ [name]: value })).toMatch(
      new RegExp(`^Invalid configuration: ${name} must be`),
    );
  });
});

describe("rate limits", () => {
  it("are off by default and read per-minute counts and a Redis URL", () => {
    expect(load({}).limits).toMatchObject({
      uploadsPerUid: undefined,
      uploadsPerIp: undefined,
      downloadsPerIp: undefined,
      redisUrl: undefined,
    });
    expect(
      load({
        RATE_LIMIT_UPLOADS_PER_MINUTE: "30",
        RATE_LIMIT_IP_PER_MINUTE: "120",
        RATE_LIMIT_DOWNLOADS_PER_MINUTE: "600",
        REDIS_URL: "redis://:secret@redis:6379/2",
      }).limits,
    ).toMatchObject({
      uploadsPerUid: 30,
      uploadsPerIp: 120,
      downloadsPerIp: 600,
      redisUrl: "redis://:secret@redis:6379/2",
    });
  });

  it.each([
    ["RATE_LIMIT_UPLOADS_PER_MINUTE", "0"],
    ["RATE_LIMIT_IP_PER_MINUTE", "-5"],
    ["RATE_LIMIT_DOWNLOADS_PER_MINUTE", "1.5"],
    ["RATE_LIMIT_UPLOADS_PER_MINUTE", "lots"],
  ])("refuses %s=%s", (name, value) => {
    expect(problem({ [name]: value })).toMatch(
      new RegExp(`${name} must be a whole number of requests per minute`),
    );
  });

  it("refuses a REDIS_URL that is not redis:// or rediss:// without echoing it", () => {
    const message = problem({ REDIS_URL: "http://user:hunter2@redis:6379" });
    expect(message).toMatch(/REDIS_URL must be a URL like redis:\/\/localhost:6379/);
    expect(message).not.toContain("hunter2");
  });
});
