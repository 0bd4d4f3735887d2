import type { StorageErrorCode } from "@mediagate/core";
import { expectStorageError, firstListStep, streamOf } from "@mediagate/core/conformance";
import type { S3Operation, S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Adapter } from "../src/index.ts";
import { adapterFor, startServer } from "./helpers.ts";

let server: S3TestServer;
let adapter: S3Adapter;
let counter = 0;
const freshKey = () => `errors/${++counter}/object`;

beforeAll(async () => {
  server = await startServer();
  adapter = adapterFor(server);
});
afterAll(() => server.stop());

function everyCall(target: S3Adapter, key: string): [string, () => Promise<unknown>][] {
  return [
    ["check", () => target.check()],
    ["write", () => target.write(key, streamOf("x"))],
    ["read", () => target.read(key)],
    ["stat", () => target.stat(key)],
    ["delete", () => target.delete(key)],
    ["list", () => firstListStep(() => target.list("errors/"))],
  ];
}

describe("credentials the store refuses", () => {
  it("a wrong secret: every call is Unauthorized (SigV4 checked by the test proxy), nothing stored", async () => {
    const key = freshKey();
    const wrong = adapterFor(server, {
      credentials: {
        accessKeyId: server.credentials.accessKeyId,
        secretAccessKey: "not-the-secret",
      },
    });
    for (const [name, call] of everyCall(wrong, key)) {
      const error = await expectStorageError(call, "Unauthorized");
      expect(error.cause, `${name} keeps the SDK error`).toBeInstanceOf(Error);
    }
    const refused = server.proxy.requests.filter((r) => r.key === key && r.outcome === "rejected");
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.problem?.startsWith("SignatureDoesNotMatch"))).toBe(true);
    await expectStorageError(adapter.stat(key), "NotFound");
  });

  it("an unknown access key: Unauthorized, also for HEAD requests that carry no error body", async () => {
    const unknown = adapterFor(server, {
      credentials: { accessKeyId: "NOBODY", secretAccessKey: "x" },
    });
    for (const [, call] of everyCall(unknown, freshKey()))
      await expectStorageError(call, "Unauthorized");
  });
});

describe("S3 error answers map to the core codes", () => {
  // Answered by the proxy in place of the store, parsed by the real SDK.
  const cases: [S3Operation, number, string, StorageErrorCode][] = [
    ["GetObject", 404, "NoSuchKey", "NotFound"],
    ["GetObject", 404, "NoSuchBucket", "NotFound"],
    ["GetObject", 403, "AccessDenied", "Unauthorized"],
    ["GetObject", 403, "AllAccessDisabled", "Unauthorized"],
    ["GetObject", 400, "ExpiredToken", "Unauthorized"],
    ["GetObject", 416, "InvalidRange", "InvalidRange"],
    ["GetObject", 503, "SlowDown", "Unavailable"],
    ["GetObject", 500, "InternalError", "Unavailable"],
    ["GetObject", 400, "RequestTimeout", "Unavailable"],
    ["HeadObject", 403, "AccessDenied", "Unauthorized"],
    ["HeadObject", 404, "NoSuchKey", "NotFound"],
    ["HeadObject", 503, "ServiceUnavailable", "Unavailable"],
    ["PutObject", 403, "AccessDenied", "Unauthorized"],
    ["PutObject", 404, "NoSuchBucket", "NotFound"],
    ["PutObject", 400, "InvalidBucketName", "InvalidArgument"],
    ["HeadBucket", 403, "AccessDenied", "Unauthorized"],
    ["HeadBucket", 404, "NoSuchBucket", "NotFound"],
    ["ListObjectsV2", 403, "AccessDenied", "Unauthorized"],
    ["ListObjectsV2", 500, "InternalError", "Unavailable"],
  ];

  it.each(cases)("%s answered %i %s → %s", async (operation, status, code, expected) => {
    const key = freshKey();
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === operation,
      fault: { type: "error", status, code },
    });
    const call = {
      GetObject: () => adapter.read(key),
      HeadObject: () => adapter.stat(key),
      PutObject: () => adapter.write(key, streamOf("body")),
      HeadBucket: () => adapter.check(),
      ListObjectsV2: () => firstListStep(() => adapter.list("errors/")),
    }[operation as "GetObject" | "HeadObject" | "PutObject" | "HeadBucket" | "ListObjectsV2"];
    try {
      const error = await expectStorageError(call, expected);
      expect(error.cause).toBeDefined();
    } finally {
      fault.remove();
    }
  });

  it("retries what is worth retrying before reporting Unavailable", async () => {
    const key = freshKey();
    await adapter.write(key, streamOf("x"));
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "HeadObject" && r.key === key,
      fault: { type: "error", status: 503, code: "SlowDown" },
    });
    await expectStorageError(adapter.stat(key), "Unavailable");
    fault.remove();
    expect(fault.hits, "the SDK's three attempts").toBe(3);
    // …and a 403 is final at once.
    const denied = server.proxy.injectFault({
      match: (r) => r.operation === "HeadObject" && r.key === key,
      fault: { type: "error", status: 403, code: "AccessDenied" },
    });
    await expectStorageError(adapter.stat(key), "Unauthorized");
    denied.remove();
    expect(denied.hits).toBe(1);
  });
});

describe("a bucket that does not exist", () => {
  it("check(), read, stat, write and list reject NotFound", async () => {
    const missing = adapterFor(server, { bucket: "no-such-bucket" });
    await expectStorageError(missing.check(), "NotFound");
    await expectStorageError(missing.stat("a"), "NotFound");
    await expectStorageError(missing.read("a"), "NotFound");
    await expectStorageError(missing.write("a", streamOf("x")), "NotFound");
    await expectStorageError(
      firstListStep(() => missing.list()),
      "NotFound",
    );
  });
});
