import { expectStorageError, firstListStep, readAll, streamOf } from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GcsAdapter } from "../src/index.ts";
import { FAST_RETRY, TEST_PROJECT } from "./helpers.ts";

const BUCKET = "mediagate-errors";
let server: GcsTestServer;
let adapter: GcsAdapter;

beforeAll(async () => {
  server = await startGcsTestServer({ buckets: [BUCKET] });
  adapter = new GcsAdapter({
    bucket: BUCKET,
    projectId: TEST_PROJECT,
    apiEndpoint: server.url,
    retry: FAST_RETRY,
  });
  await adapter.write("present.txt", streamOf("present"));
});
afterAll(() => server.stop());
beforeEach(() => server.clearFaults());

/** Every read-side call, so each status is checked on all of them. */
const calls: [string, () => Promise<unknown>][] = [
  ["stat", () => adapter.stat("present.txt")],
  ["read", () => adapter.read("present.txt")],
  ["delete", () => adapter.delete("present.txt")],
  ["list", () => firstListStep(() => adapter.list(""))],
  ["check", () => adapter.check()],
];

describe("GcsAdapter error mapping", () => {
  for (const [status, code] of [
    [401, "Unauthorized"],
    [403, "Unauthorized"],
    [500, "Unavailable"],
    [503, "Unavailable"],
    [429, "Unavailable"],
  ] as const) {
    it(`maps ${status} to ${code} on every call, keeping the SDK error as cause`, async () => {
      for (const [name, call] of calls) {
        server.injectFault({ status, times: Infinity });
        const error = await expectStorageError(call, code);
        expect(error.cause, name).toBeDefined();
        server.clearFaults();
      }
      // The object is untouched by the refused delete.
      expect((await adapter.stat("present.txt")).size).toBe(7);
    });
  }

  it("maps a missing object to NotFound, and a delete of it succeeds", async () => {
    await expectStorageError(adapter.stat("absent.txt"), "NotFound");
    await expectStorageError(adapter.read("absent.txt"), "NotFound");
    await expect(adapter.delete("absent.txt")).resolves.toBeUndefined();
  });

  it("reports a 403 on the media download itself as Unauthorized, not NotFound", async () => {
    server.injectFault({ method: "GET", url: "alt=media", status: 403 });
    await expectStorageError(adapter.read("present.txt"), "Unauthorized");
  });

  it("reads the generation it looked up: replaced in between, the read fails rather than mix versions", async () => {
    await adapter.write("replaced.txt", streamOf("first version"));
    // The replacement lands after the adapter's lookup, before its download is served.
    server.injectFault({
      method: "GET",
      url: "alt=media",
      before: async () => void (await adapter.write("replaced.txt", streamOf("second version"))),
    });
    await expectStorageError(adapter.read("replaced.txt"), "NotFound");
    expect((await readAll((await adapter.read("replaced.txt")).body)).toString()).toBe(
      "second version",
    );
  });

  it("stops only its own request when a download is abandoned early", async () => {
    await adapter.write("large.bin", streamOf(Buffer.alloc(4 * 1024 * 1024, 7)));
    const reads = await Promise.all([
      adapter.read("large.bin"),
      adapter.read("large.bin"),
      adapter.read("large.bin"),
    ]);
    // A player seeking away: the first download is dropped after its first chunk.
    const [dropped, ...kept] = reads;
    if (!dropped) throw new Error("no read");
    await new Promise<void>((resolve) => dropped.body.once("data", () => resolve()));
    dropped.body.destroy();
    for (const { body } of kept) expect((await readAll(body)).length).toBe(4 * 1024 * 1024);
    expect((await adapter.stat("present.txt")).size).toBe(7);
  });

  it("maps a missing bucket to NotFound on check()", async () => {
    const missing = new GcsAdapter({
      bucket: "no-such-bucket",
      projectId: TEST_PROJECT,
      apiEndpoint: server.url,
    });
    await expectStorageError(missing.check(), "NotFound");
  });

  it("checks with an object listing (storage.objects.list), not a bucket lookup", async () => {
    server.requests.length = 0;
    await adapter.check();
    expect(
      server.requests.map((r) => `${r.method} ${new URL(r.url, "http://x").pathname}`),
    ).toEqual([`GET /storage/v1/b/${BUCKET}/o`]);
  });
});

describe("GcsAdapter deadlines", () => {
  it("answers a caller's deadline on time while the SDK is still retrying", async () => {
    // Every listing fails with 503, so the SDK keeps retrying with back-off; the readiness
    // probe's deadline must end the wait.
    server.injectFault({ method: "GET", url: `/b/${BUCKET}/o?`, status: 503, times: Infinity });
    const patient = new GcsAdapter({
      bucket: BUCKET,
      projectId: TEST_PROJECT,
      apiEndpoint: server.url,
      retry: { maxRetries: 5, retryDelayMultiplier: 2, maxRetryDelay: 4 },
    });
    const started = performance.now();
    await expectStorageError(patient.check({ signal: AbortSignal.timeout(300) }), "Unavailable");
    expect(performance.now() - started).toBeLessThan(2000);
    server.clearFaults();
  });

  it("reports a caller's abort as Aborted, whatever reason it carries", async () => {
    const controller = new AbortController();
    controller.abort(new Error("client went away"));
    await expectStorageError(adapter.stat("present.txt", { signal: controller.signal }), "Aborted");
    await expectStorageError(adapter.read("present.txt", { signal: controller.signal }), "Aborted");
  });
});
