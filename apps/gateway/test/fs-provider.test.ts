import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { FsAdapter } from "@mediagate/fs";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { fsProvider } from "../src/storage/providers/fs.ts";

const BASE = { AUTH_TOKENS: "provider-test-token-0123456789" };

describe("STORAGE_PROVIDER=fs configuration", () => {
  it("reads FS_DURABLE, durable unless turned off", () => {
    expect(loadConfig(BASE, "/srv").storage.env).toEqual({ FS_ROOT: "/srv/data" });
    expect(loadConfig({ ...BASE, FS_DURABLE: "false" }, "/srv").storage.env).toEqual({
      FS_ROOT: "/srv/data",
      FS_DURABLE: false,
    });
  });

  it("refuses a bad FS_DURABLE with one line naming it", () => {
    expect(() => loadConfig({ ...BASE, FS_DURABLE: "sometimes" }, "/srv")).toThrow(
      new ConfigError("Invalid configuration: FS_DURABLE must be true or false"),
    );
  });

  it("builds a working adapter in either mode", async () => {
    const root = await mkdtemp(join(tmpdir(), "mediagate-fs-provider-"));
    try {
      for (const durable of ["true", "false"]) {
        const adapter = await fsProvider.create(
          fsProvider.env.parse({ FS_ROOT: join(root, durable), FS_DURABLE: durable }),
          { createBucket: true },
        );
        expect(adapter).toBeInstanceOf(FsAdapter);
        expect((adapter as FsAdapter).durable).toBe(durable === "true");
        await adapter.write("a/b.txt", Readable.from([Buffer.from("hi")]));
        expect((await adapter.stat("a/b.txt")).size).toBe(2);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
