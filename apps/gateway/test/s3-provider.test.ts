import { startS3TestServer } from "@mediagate/test-servers";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { s3Provider } from "../src/storage/providers/s3.ts";

const BASE = {
  STORAGE_PROVIDER: "s3",
  AUTH_TOKENS: "provider-test-token-0123456789",
  S3_BUCKET: "media-bucket",
  S3_REGION: "eu-west-1",
};

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ ...BASE, ...env }, "/srv");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a configuration error");
}

describe("STORAGE_PROVIDER=s3 configuration", () => {
  it("accepts the documented variables", () => {
    const config = loadConfig(
      {
        ...BASE,
        S3_REGION: "auto",
        S3_ENDPOINT: "https://0123abcd.r2.cloudflarestorage.com",
        S3_FORCE_PATH_STYLE: "true",
        S3_PREFIX: "tenant-a/media",
        S3_PART_SIZE: "16mb",
        S3_QUEUE_SIZE: "8",
        S3_CHECKSUM: "when-required",
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "secret",
      },
      "/srv",
    );
    expect(config.storage.provider.name).toBe("s3");
    expect(config.storage.env).toMatchObject({
      S3_BUCKET: "media-bucket",
      S3_FORCE_PATH_STYLE: true,
      S3_PART_SIZE: 16 * 1024 * 1024,
      S3_QUEUE_SIZE: 8,
    });
  });

  it("needs only the bucket and, on AWS, a region (credentials from the AWS chain)", () => {
    expect(loadConfig(BASE, "/srv").storage.provider.name).toBe("s3");
    expect(
      loadConfig({ ...BASE, S3_REGION: "", AWS_REGION: "eu-west-1" }, "/srv").storage.provider.name,
    ).toBe("s3");
    expect(
      loadConfig({ ...BASE, S3_REGION: "", S3_ENDPOINT: "http://minio:9000" }, "/srv").storage
        .provider.name,
    ).toBe("s3");
    expect(configError({ S3_REGION: "" })).toMatch(/S3_REGION is required for AWS/);
  });

  it.each([
    [{ S3_BUCKET: "" }, /S3_BUCKET is required/],
    [{ S3_BUCKET: "My_Bucket" }, /S3_BUCKET must be an S3 bucket name/],
    [{ S3_ENDPOINT: "minio:9000" }, /S3_ENDPOINT must be an http\(s\) origin/],
    [{ S3_FORCE_PATH_STYLE: "maybe" }, /S3_FORCE_PATH_STYLE must be true or false/],
    [{ S3_PREFIX: "a/../b" }, /S3_PREFIX must be a key prefix/],
    [{ S3_PART_SIZE: "4mb" }, /S3_PART_SIZE must be a size from 5mb to 5gb/],
    [{ S3_QUEUE_SIZE: "0" }, /S3_QUEUE_SIZE must be a whole number from 1 to 64/],
    [{ S3_CHECKSUM: "always" }, /S3_CHECKSUM must be when-required/],
    [{ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE" }, /AWS_SECRET_ACCESS_KEY is required when/],
    [{ AWS_SESSION_TOKEN: "token" }, /AWS_SESSION_TOKEN needs AWS_ACCESS_KEY_ID/],
  ] as [Record<string, string>, RegExp][])(
    "refuses %j with one line naming the variable",
    (env, message) => {
      expect(configError(env)).toMatch(message);
    },
  );

  it("never repeats the secret key in a message", () => {
    expect(
      configError({
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "s3cr3t",
        S3_QUEUE_SIZE: "x",
      }),
    ).not.toContain("s3cr3t");
  });

  it("creates a missing bucket when asked to (STORAGE_CREATE_BUCKET), and only then", async () => {
    const server = await startS3TestServer({ buckets: [] });
    try {
      const env = s3Provider.env.parse({
        S3_BUCKET: "made-at-start",
        S3_ENDPOINT: server.endpoint,
        S3_FORCE_PATH_STYLE: "true",
        AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      });
      const plain = await s3Provider.create(env, { createBucket: false });
      await expect(plain.check()).rejects.toMatchObject({ code: "NotFound" });
      const creating = await s3Provider.create(env, { createBucket: true });
      await expect(creating.check()).resolves.toBeUndefined();
      expect(server.proxy.requestsFor("CreateBucket")).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});
