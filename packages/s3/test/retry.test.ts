import { patternBody, streamOf } from "@mediagate/core/conformance";
import type { S3TestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3Adapter } from "../src/index.ts";
import { MiB, adapterFor, startServer } from "./helpers.ts";

/**
 * Throttling: S3 answers 503 SlowDown when a key prefix takes more requests than it can
 * (about 3,500 writes a second). The SDK's adaptive retry backs off and slows the whole
 * client down until requests succeed again. Each test has its own adapter: once throttled,
 * an adaptive client paces every request it sends for a while. (errors.test.ts checks
 * that a SlowDown that never lets up ends as Unavailable after the attempts.)
 */

let server: S3TestServer;
let counter = 0;
const freshKey = (name: string) => `retry/${++counter}/${name}`;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const strategyMode = async (adapter: S3Adapter) =>
  ((await adapter.client.config.retryStrategy()) as { mode?: string }).mode;

describe("S3 retries", () => {
  it("uses the SDK's adaptive retry by default, standard when asked", async () => {
    expect(await strategyMode(adapterFor(server))).toBe("adaptive");
    expect(await strategyMode(adapterFor(server, { retryMode: "standard" }))).toBe("standard");
    expect(() => adapterFor(server, { retryMode: "eager" as "standard" })).toThrow(/retryMode/);
  });

  it("rides out SlowDown on a PutObject: retried until the store takes it", async () => {
    const adapter = adapterFor(server);
    const key = freshKey("put.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "PutObject" && r.key === key,
      fault: {
        type: "error",
        status: 503,
        code: "SlowDown",
        message: "Please reduce your request rate.",
      },
      times: 2,
    });
    const written = await adapter.write(key, streamOf("throttled, then stored"));
    expect(fault.hits).toBe(2);
    await server.proxy.idle();
    expect(server.proxy.requestsFor("PutObject", key).map((r) => r.status)).toEqual([
      503, 503, 200,
    ]);
    expect(written.size).toBe("throttled, then stored".length);
  });

  it("rides out SlowDown on a part: the multipart upload completes", async () => {
    const adapter = adapterFor(server, { partSize: 5 * MiB, queueSize: 2 });
    const key = freshKey("parts.bin");
    const fault = server.proxy.injectFault({
      match: (r) => r.operation === "UploadPart" && r.key === key && r.partNumber === 2,
      fault: { type: "error", status: 503, code: "SlowDown" },
      times: 1,
    });
    const written = await adapter.write(key, patternBody(5 * MiB + 1).stream);
    expect(fault.hits).toBe(1);
    expect(written.size).toBe(5 * MiB + 1);
    expect((await adapter.stat(key)).size).toBe(5 * MiB + 1);
  });
});
