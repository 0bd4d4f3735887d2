/**
 * The status page's parts, without a gateway: the per-minute upload counter over an hour of
 * simulated clock, the report over a real folder and SQLite ledger, and the module folders
 * it serves to browsers (sources or compiled).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsAdapter } from "@mediagate/fs";
import { openLedger, type Ledger } from "@mediagate/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lifecycle } from "../src/server/lifecycle.ts";
import { ModuleFolder } from "../src/status/assets.ts";
import { UploadCounter } from "../src/status/counter.ts";
import { StatusReport } from "../src/status/report.ts";

const MINUTE = 60_000;

describe("UploadCounter", () => {
  const closing = (statusCode: number, writableFinished = true) =>
    ({ statusCode, writableFinished }) as ServerResponse;

  it("classes each response as it closes: 2xx stored, 4xx, 5xx, or the client left", () => {
    const counter = new UploadCounter(() => 10 * MINUTE);
    for (const res of [closing(200), closing(201), closing(401), closing(413), closing(503)])
      counter.onResponseClose.call(res);
    counter.onResponseClose.call(closing(200, false));
    const { totals, perMinute, windowMinutes } = counter.snapshot();
    expect(totals).toEqual({ ok: 2, clientError: 2, serverError: 1, aborted: 1 });
    expect(windowMinutes).toBe(60);
    expect(perMinute.ok.at(-1)).toBe(2);
    expect(perMinute.errors.at(-1)).toBe(4);
    expect(perMinute.ok.slice(0, -1).every((count) => count === 0)).toBe(true);
  });

  it("keeps one hour, minute by minute, and forgets what is older", () => {
    let now = 1_000 * MINUTE + 5_000;
    const counter = new UploadCounter(() => now);
    counter.record(0);
    now += 30 * MINUTE;
    counter.record(0);
    counter.record(1);
    let { totals, perMinute } = counter.snapshot();
    expect(totals.ok).toBe(2);
    expect(perMinute.ok[29]).toBe(1);
    expect(perMinute.ok[59]).toBe(1);
    expect(perMinute.errors[59]).toBe(1);
    // 30 minutes on, the first minute has left the window; its slot is reused, not added to.
    now += 30 * MINUTE;
    expect(counter.snapshot().totals).toEqual({
      ok: 1,
      clientError: 1,
      serverError: 0,
      aborted: 0,
    });
    counter.record(2);
    ({ totals, perMinute } = counter.snapshot());
    expect(totals).toEqual({ ok: 1, clientError: 1, serverError: 1, aborted: 0 });
    expect(perMinute.ok[59]).toBe(0);
    expect(perMinute.errors[59]).toBe(1);
    // A quiet hour later, nothing.
    now += 61 * MINUTE;
    expect(counter.snapshot().totals).toEqual({
      ok: 0,
      clientError: 0,
      serverError: 0,
      aborted: 0,
    });
  });
});

describe("ModuleFolder", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mediagate-modules-"));
    await writeFile(
      join(dir, "greet.ts"),
      'import { name, type Name } from "./name.ts";\nexport const greet = (who: Name = name): string => `hi ${who}`;\n',
    );
    await writeFile(join(dir, "plain.js"), "export const plain = 1;\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("serves TypeScript sources stripped of their types, under either extension", async () => {
    const folder = new ModuleFolder(dir, ".ts");
    const asTs = await folder.get("greet.ts");
    const asJs = await folder.get("greet.js");
    expect(asTs?.type).toBe("text/javascript; charset=utf-8");
    expect(asJs).toBe(asTs);
    const code = asTs?.body.toString() ?? "";
    expect(code).not.toMatch(/: Name|: string|type Name/);
    expect(code).toContain('from "./name.ts"');
    // Still a module a JavaScript engine accepts.
    const stripped = join(dir, "stripped.mjs");
    await writeFile(join(dir, "name.ts.mjs"), 'export const name = "you";\n');
    await writeFile(stripped, code.replace("./name.ts", "./name.ts.mjs"));
    const loaded = (await import(stripped)) as { greet: () => string };
    expect(loaded.greet()).toBe("hi you");
  });

  it("serves compiled JavaScript as it is", async () => {
    const folder = new ModuleFolder(dir, ".js");
    expect((await folder.get("plain.ts"))?.body.toString()).toBe("export const plain = 1;\n");
  });

  it("serves nothing but a plain module name of the folder", async () => {
    const folder = new ModuleFolder(dir, ".ts");
    for (const name of ["../greet.ts", "sub/greet.ts", "greet.d.ts", "greet", "Greet.ts", "x.ts"])
      expect(await folder.get(name)).toBeUndefined();
  });
});

describe("StatusReport", () => {
  let dir: string;
  let ledger: Ledger;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mediagate-report-"));
    ledger = await openLedger({ kind: "sqlite", path: join(dir, "ledger.db"), durable: false });
  });
  afterAll(async () => {
    await ledger?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const report = (options: { root?: string; ledger?: Ledger; lifecycle?: Lifecycle } = {}) =>
    new StatusReport({
      // A root given is taken as it is: a missing one fails the check.
      storage: new FsAdapter({
        root: options.root ?? join(dir, "files"),
        createRoot: options.root === undefined,
      }),
      ledger: options.ledger,
      ledgerCheck: () => options.ledger?.check() ?? Promise.resolve(),
      lifecycle: options.lifecycle ?? new Lifecycle(),
      counter: new UploadCounter(),
    });

  const stored = (key: string, size: number) =>
    ledger.record(
      {
        key,
        backend: "fs",
        uid: "7",
        mid: "1",
        source: 0,
        name: "x.bin",
        size,
        sha256: "0".repeat(64),
        contentType: "application/octet-stream",
        createdAt: new Date(),
        expiresAt: null,
      },
      { uploadStartedAt: new Date() },
    );

  it("without a ledger: only the backend is checked, and storage used is not counted", async () => {
    const body = await report().read();
    expect(body.readiness).toEqual({
      ready: true,
      draining: false,
      checks: [{ name: "fs", ok: true, ms: expect.any(Number) }],
    });
    expect(body.storage).toBeNull();
    expect(body.gateway).toMatchObject({ backend: "fs", version: "0.1.0" });
  });

  it("names a failing check with its code and cause, and is not ready while draining", async () => {
    const missing = await report({ root: join(dir, "missing") }).read();
    expect(missing.readiness.ready).toBe(false);
    expect(missing.readiness.checks[0]).toMatchObject({
      name: "fs",
      ok: false,
      code: "STORAGE_UNAVAILABLE",
      detail: expect.any(String),
    });
    const lifecycle = new Lifecycle();
    lifecycle.startDraining();
    expect((await report({ lifecycle }).read()).readiness).toMatchObject({
      ready: false,
      draining: true,
    });
  });

  it("counts storage used from the ledger, and reuses the count for a while", async () => {
    await stored("aa/2026/12/06/" + "a".repeat(40) + ".bin", 1000);
    const status = report({ ledger });
    const first = await status.read();
    expect(first.storage).toMatchObject({ records: 1, bytes: 1000 });
    expect(first.readiness.checks.map((check) => check.name)).toEqual(["fs", "ledger"]);
    await stored("bb/2026/12/06/" + "b".repeat(40) + ".bin", 24);
    expect((await status.read()).storage).toEqual(first.storage);
    expect((await report({ ledger }).read()).storage).toMatchObject({ records: 2, bytes: 1024 });
  });
});
