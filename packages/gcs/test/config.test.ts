import { Storage } from "@google-cloud/storage";
import { expectStorageError, readAll, streamOf } from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcsAdapter, parseCredentials } from "../src/index.ts";
import { generateServiceAccount, TEST_PROJECT } from "./helpers.ts";

const BUCKET = "mediagate-config";
let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsTestServer({ buckets: [BUCKET] });
});
afterAll(() => server.stop());

describe("parseCredentials", () => {
  const { credentials } = generateServiceAccount();
  const json = JSON.stringify(credentials);

  it("takes a key file's JSON raw, base64-encoded, or already parsed", () => {
    expect(parseCredentials(json)).toEqual(credentials);
    expect(parseCredentials(`  ${json}\n`)).toEqual(credentials);
    expect(parseCredentials(Buffer.from(json).toString("base64"))).toEqual(credentials);
    // Wrapped base64 (as `base64` prints it) decodes too.
    expect(
      parseCredentials(
        Buffer.from(json)
          .toString("base64")
          .replace(/(.{76})/g, "$1\n"),
      ),
    ).toEqual(credentials);
    expect(parseCredentials(credentials)).toEqual(credentials);
  });

  it("refuses garbage with InvalidArgument and never echoes the secret", () => {
    for (const bad of [
      "",
      "{not json",
      "@@@ not base64 @@@",
      Buffer.from("[1,2]").toString("base64"),
    ]) {
      let caught: unknown;
      try {
        parseCredentials(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ name: "StorageError", code: "InvalidArgument" });
      if (bad.length > 3) expect((caught as Error).message).not.toContain(bad);
    }
  });

  it("refuses a service-account key without its private key", () => {
    const { private_key: _dropped, ...incomplete } = credentials;
    expect(() => parseCredentials(JSON.stringify(incomplete))).toThrow(
      /client_email and private_key/,
    );
  });
});

describe("GcsAdapter configuration", () => {
  const base = () => ({ bucket: BUCKET, projectId: TEST_PROJECT, apiEndpoint: server.url });

  it("refuses credentials and keyFile together, and a chunk size GCS would reject", () => {
    const { credentials } = generateServiceAccount();
    expect(() => new GcsAdapter({ ...base(), credentials, keyFile: "/tmp/key.json" })).toThrow(
      /not both/,
    );
    expect(() => new GcsAdapter({ ...base(), chunkSize: 1000 })).toThrow(/multiple of 256 KiB/);
    expect(() => new GcsAdapter({ ...base(), abortGraceMs: -1 })).toThrow(/abortGraceMs/);
    expect(() => new GcsAdapter({ ...base(), singleRequestMaxBytes: -1 })).toThrow(/non-negative/);
    expect(() => new GcsAdapter({ ...base(), bucket: "" })).toThrow(/bucket name is required/);
  });

  it("keeps keys under its prefix and hides it from callers", async () => {
    const tenant = new GcsAdapter({ ...base(), prefix: "/tenant-a/media/" });
    const info = await tenant.write("photos/cat.jpg", streamOf("meow"));
    expect(info.key).toBe("photos/cat.jpg");
    expect(server.objects()).toContain(`${BUCKET}/tenant-a/media/photos/cat.jpg`);
    const listed: string[] = [];
    for await (const entry of tenant.list("photos/")) listed.push(entry.key);
    expect(listed).toEqual(["photos/cat.jpg"]);
    expect((await readAll((await tenant.read("photos/cat.jpg")).body)).toString()).toBe("meow");
    const other = new GcsAdapter({ ...base(), prefix: "tenant-b" });
    await expectStorageError(other.stat("photos/cat.jpg"), "NotFound");
  });

  it("skips names that are not keys (folder placeholders) when listing", async () => {
    const storage = new Storage({ apiEndpoint: server.url, projectId: TEST_PROJECT });
    await storage.bucket(BUCKET).file("folders/").save("", { resumable: false });
    await storage.bucket(BUCKET).file("folders/inside.txt").save("x", { resumable: false });
    const adapter = new GcsAdapter(base());
    const listed: string[] = [];
    for await (const entry of adapter.list("folders/")) listed.push(entry.key);
    expect(listed).toEqual(["folders/inside.txt"]);
  });

  it("wraps an existing Bucket from the application's own Storage client", async () => {
    const storage = new Storage({ apiEndpoint: server.url, projectId: TEST_PROJECT });
    const adapter = new GcsAdapter({ bucket: storage.bucket(BUCKET) });
    await adapter.write("existing/client.txt", streamOf("shared client"));
    expect((await adapter.stat("existing/client.txt")).size).toBe(13);
    expect(adapter.bucket.name).toBe(BUCKET);
  });

  it("builds its bucket from the application's own Storage client and a bucket name", async () => {
    const storage = new Storage({ apiEndpoint: server.url, projectId: TEST_PROJECT });
    const adapter = new GcsAdapter({ storage, bucket: BUCKET, prefix: "from-storage" });
    await adapter.write("client.txt", streamOf("shared storage"));
    expect(adapter.bucket.storage).toBe(storage);
    expect(adapter.bucket.name).toBe(BUCKET);
    const [exists] = await storage.bucket(BUCKET).file("from-storage/client.txt").exists();
    expect(exists).toBe(true);
    expect(() => new GcsAdapter({ storage, bucket: "" })).toThrow(/bucket name is required/);
  });

  it("creates a missing bucket with ensureBucket(), and leaves an existing one alone", async () => {
    const adapter = new GcsAdapter({ ...base(), bucket: "created-on-start" });
    await expectStorageError(adapter.check(), "NotFound");
    await adapter.ensureBucket();
    await adapter.check();
    await adapter.ensureBucket();
    const created = server.requests.filter(
      (r) => r.method === "POST" && r.url.startsWith("/storage/v1/b?"),
    );
    expect(created).toHaveLength(1);
    expect(new URL(created[0]?.url ?? "/", "http://x").searchParams.get("project")).toBe(
      TEST_PROJECT,
    );
  });
});
