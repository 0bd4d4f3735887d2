import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { gcsProvider } from "../src/storage/providers/gcs.ts";

const BASE = {
  STORAGE_PROVIDER: "gcs",
  AUTH_TOKENS: "provider-test-token-0123456789",
  GCS_BUCKET: "media-bucket",
};

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ ...BASE, ...env }, "/srv");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a configuration error");
}

const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const key = {
  type: "service_account",
  client_email: "gw@p.iam.gserviceaccount.com",
  private_key: privateKey,
};

describe("STORAGE_PROVIDER=gcs configuration", () => {
  it("accepts the documented variables, with credentials raw or base64", () => {
    for (const credentials of [
      JSON.stringify(key),
      Buffer.from(JSON.stringify(key)).toString("base64"),
    ]) {
      const config = loadConfig(
        {
          ...BASE,
          GCS_PROJECT_ID: "p",
          GCS_API_ENDPOINT: "http://localhost:4443",
          GCS_CREDENTIALS: credentials,
          GCS_PREFIX: "tenant-a/media",
          GCS_CHUNK_SIZE: "16mb",
          GCS_SINGLE_REQUEST_MAX: "4mb",
        },
        "/srv",
      );
      expect(config.storage.provider.name).toBe("gcs");
      expect(config.storage.env).toMatchObject({
        GCS_BUCKET: "media-bucket",
        GCS_CREDENTIALS: key,
        GCS_CHUNK_SIZE: 16 * 1024 * 1024,
        GCS_SINGLE_REQUEST_MAX: 4 * 1024 * 1024,
      });
    }
  });

  it("resolves a relative GCS_KEY_FILE against where the gateway was started", () => {
    const config = loadConfig({ ...BASE, GCS_KEY_FILE: "keys/sa.json" }, "/srv");
    expect(config.storage.env).toMatchObject({ GCS_KEY_FILE: "/srv/keys/sa.json" });
  });

  it("names the variable in every refusal, and never echoes credentials", () => {
    expect(configError({ GCS_BUCKET: "" })).toMatch(/GCS_BUCKET is required/);
    expect(configError({ GCS_BUCKET: "Not A Bucket" })).toMatch(/GCS_BUCKET must be a bucket name/);
    expect(configError({ GCS_API_ENDPOINT: "localhost:4443" })).toMatch(
      /GCS_API_ENDPOINT must be an http\(s\) URL/,
    );
    expect(configError({ GCS_CHUNK_SIZE: "1000" })).toMatch(
      /GCS_CHUNK_SIZE must be a multiple of 256kb/,
    );
    expect(configError({ GCS_PREFIX: "../up" })).toMatch(/GCS_PREFIX must be a key prefix/);
    const secret = '{"type":"service_account","private_key":"SECRET-PRIVATE-KEY"';
    const message = configError({ GCS_CREDENTIALS: secret });
    expect(message).toMatch(/GCS_CREDENTIALS .*not valid JSON/);
    expect(message).not.toContain("SECRET-PRIVATE-KEY");
    expect(configError({ GCS_CREDENTIALS: JSON.stringify(key), GCS_KEY_FILE: "/k.json" })).toMatch(
      /GCS_KEY_FILE cannot be combined with GCS_CREDENTIALS/,
    );
  });

  it("stops at start-up, naming GCS_KEY_FILE, when the key file cannot be read", async () => {
    const env = gcsProvider.env.parse({
      GCS_BUCKET: "media-bucket",
      GCS_KEY_FILE: "/nonexistent/key.json",
    });
    await expect(gcsProvider.create(env, { createBucket: false })).rejects.toThrow(
      /GCS_KEY_FILE \/nonexistent\/key.json cannot be read \(ENOENT\)/,
    );
  });
});
