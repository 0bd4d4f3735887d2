/**
 * The target file of `mediagate migrate`: read with the providers' own schemas, and the names
 * migrated records get in the ledger (which a re-run relies on to skip what was moved).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../src/config/load.ts";
import { ledgerName, readTargetFile, storeIdentity } from "../src/migrate/target.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-migrate-target-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function target(lines: string[]) {
  const file = join(dir, "target.env");
  await writeFile(file, `${lines.join("\n")}\n`);
  return readTargetFile(file, dir);
}

const S3 = ["STORAGE_PROVIDER=s3", "S3_BUCKET=media", "S3_REGION=eu-west-1"];

describe("the migration target file", () => {
  it("names the variable that is wrong, without echoing a secret", async () => {
    const error = await target([...S3, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/target\.env: AWS_SECRET_ACCESS_KEY is required/);
    expect((error as Error).message).not.toContain("AKIDEXAMPLE");
    await expect(target(["S3_BUCKET=media"])).rejects.toThrow(
      /target\.env: STORAGE_PROVIDER is required: the backend to copy to/,
    );
    await expect(target(["STORAGE_PROVIDER=ftp"])).rejects.toThrow(
      /STORAGE_PROVIDER must be one of fs, azure, gcs, s3/,
    );
    await expect(target([...S3, "STORAGE_CREATE_BUCKET=maybe"])).rejects.toThrow(
      /STORAGE_CREATE_BUCKET must be true or false/,
    );
    expect(() => readTargetFile("absent.env", dir)).toThrow(
      /^absent\.env cannot be read \(ENOENT\)$/,
    );
  });

  it("reads the provider's settings, creating a bucket only when asked, paths against the base folder", async () => {
    const s3 = await target([...S3, "AWS_REGION="]);
    expect(s3.provider.name).toBe("s3");
    expect(s3.createBucket).toBe(false);
    expect((await target([...S3, "STORAGE_CREATE_BUCKET=true"])).createBucket).toBe(true);
    const fs = await target(["STORAGE_PROVIDER=fs", "FS_ROOT=./moved"]);
    expect(fs.createBucket).toBe(true);
    expect(storeIdentity(fs)).toBe(join(dir, "moved"));
  });

  it("tells stores apart by where their objects live, and names same-kind records by it", async () => {
    const aws = await target(S3);
    const r2 = await target([
      ...S3,
      "S3_ENDPOINT=https://acct.r2.cloudflarestorage.com",
      "S3_PREFIX=chat/",
    ]);
    expect(storeIdentity(aws)).toBe("aws/media");
    expect(storeIdentity(r2)).toBe("acct.r2.cloudflarestorage.com/media/chat");
    expect(ledgerName(r2, false)).toBe("s3");
    expect(ledgerName(r2, true)).toBe("s3:acct.r2.cloudflarestorage.com/media/chat");
    const azure = await target([
      "STORAGE_PROVIDER=azure",
      "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
      "AZURE_CONTAINER=media",
    ]);
    expect(storeIdentity(azure)).toBe("azure/acme/media");
    expect(storeIdentity(azure)).not.toContain("c2VjcmV0");
    const deep = await target(["STORAGE_PROVIDER=fs", `FS_ROOT=/${"very-long-folder/".repeat(6)}`]);
    const name = ledgerName(deep, true);
    expect(name).toMatch(/^fs:[0-9a-f]{16}$/);
    expect(ledgerName(deep, true)).toBe(name);
  });
});
