import { S3Client } from "@aws-sdk/client-s3";
import { MAX_KEY_BYTES } from "@mediagate/core";
import { expectStorageError, readAll, streamOf } from "@mediagate/core/conformance";
import type { S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Adapter, type S3AdapterOptions } from "../src/index.ts";
import { BUCKET, MiB, adapterFor, startServer } from "./helpers.ts";

let server: S3TestServer;
let plain: S3Adapter;

beforeAll(async () => {
  server = await startServer();
  plain = adapterFor(server);
});
afterAll(() => server.stop());

describe("configuration is checked up front", () => {
  const base = { bucket: BUCKET, endpoint: "http://127.0.0.1:1", forcePathStyle: true };
  const bad: [string, Partial<S3AdapterOptions>][] = [
    ["an empty bucket", { bucket: "" }],
    ["a part size under 5 MiB", { partSize: 5 * MiB - 1 }],
    ["a fractional part size", { partSize: 5 * MiB + 0.5 }],
    ["a queue size of 0", { queueSize: 0 }],
    ["an unknown checksum mode", { checksum: "always" as S3AdapterOptions["checksum"] }],
    ["an unknown retry mode", { retryMode: "eager" as S3AdapterOptions["retryMode"] }],
    ["a negative abort grace", { abortGraceMs: -1 }],
    [
      "an unknown final metadata storage",
      { finalMetadataStorage: "sidecar" as S3AdapterOptions["finalMetadataStorage"] },
    ],
    ["a prefix with '..'", { prefix: "tenant/../other" }],
    ["a client together with an endpoint", { client: new S3Client({ region: "us-east-1" }) }],
  ];
  it.each(bad)("rejects %s with InvalidArgument or InvalidKey", (_label, options) => {
    let error: unknown;
    try {
      new S3Adapter({ ...base, ...options });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ name: "StorageError" });
    expect(["InvalidArgument", "InvalidKey"]).toContain((error as { code: string }).code);
  });
});

describe("a key prefix", () => {
  it("stores under the prefix, and lists, reads, stats, signs and deletes only the caller's keys", async () => {
    const tenant = adapterFor(server, { prefix: "/tenants/acme/" });
    await plain.write("tenants/acme-other/x", streamOf("neighbour"));
    await plain.write("tenants/outside", streamOf("outside"));
    const info = await tenant.write("photos/a b+c.jpg", streamOf("mine"));
    expect(info.key).toBe("photos/a b+c.jpg");

    const [put] = server.proxy.requestsFor("PutObject", "tenants/acme/photos/a b+c.jpg");
    expect(put, "the object went in under the prefix").toBeDefined();
    expect((await plain.stat("tenants/acme/photos/a b+c.jpg")).size).toBe(4);

    const listed: string[] = [];
    for await (const entry of tenant.list()) listed.push(entry.key);
    expect(listed).toEqual(["photos/a b+c.jpg"]);
    expect((await tenant.stat("photos/a b+c.jpg")).key).toBe("photos/a b+c.jpg");
    expect((await readAll((await tenant.read("photos/a b+c.jpg")).body)).toString()).toBe("mine");
    const url = await tenant.signedUrl("photos/a b+c.jpg", { expiresIn: 60 });
    expect(await (await fetch(url)).text()).toBe("mine");

    await tenant.delete("photos/a b+c.jpg");
    await expectStorageError(plain.stat("tenants/acme/photos/a b+c.jpg"), "NotFound");
    expect((await plain.stat("tenants/outside")).size).toBe(7);
  });

  it("rejects a key that only the prefix pushes past S3's 1024 bytes, before any request", async () => {
    const tenant = adapterFor(server, { prefix: "tenants/acme" });
    const key = `${"k/".repeat((MAX_KEY_BYTES - 2) / 2)}kk`;
    expect(Buffer.byteLength(key)).toBe(MAX_KEY_BYTES);
    const before = server.proxy.requests.length;
    await expectStorageError(tenant.write(key, streamOf("x")), "InvalidKey");
    await expectStorageError(tenant.stat(key), "InvalidKey");
    expect(server.proxy.requests.length).toBe(before);
  });
});

describe("an existing S3Client", () => {
  it("is used as given", async () => {
    const client = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { ...server.credentials },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    const adapter = new S3Adapter({ bucket: BUCKET, client, partSize: 5 * MiB });
    expect(adapter.client).toBe(client);
    await adapter.write("client/given", streamOf("given"));
    expect((await readAll((await plain.read("client/given")).body)).toString()).toBe("given");
    client.destroy();
  });
});

describe("createBucket()", () => {
  it("creates a missing bucket, and succeeds when it already exists", async () => {
    const fresh = adapterFor(server, { bucket: "created-by-test" });
    await expectStorageError(fresh.check(), "NotFound");
    await fresh.createBucket();
    await fresh.check();
    await fresh.createBucket();
    await fresh.write("x", streamOf("x"));
    expect((await fresh.stat("x")).size).toBe(1);
  });
});
