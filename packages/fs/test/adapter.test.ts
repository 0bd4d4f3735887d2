import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expectStorageError, streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter } from "../src/index.ts";
import { classifyFsError } from "../src/fs-errors.ts";
import { debris } from "./debris.ts";
import { tempDir } from "./temp-root.ts";

const errnoError = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

describe("FsAdapter", () => {
  it("creates a missing root only when asked to", async () => {
    const base = await tempDir("create");
    const strict = new FsAdapter({ root: join(base, "missing") });
    await expectStorageError(strict.check(), "NotFound");
    await expectStorageError(strict.write("k", streamOf("x")), "NotFound");
    const creating = new FsAdapter({ root: join(base, "made", "deep"), createRoot: true });
    await expect(creating.check()).resolves.toBeUndefined();
    await creating.write("k", streamOf("x"));
    expect((await creating.stat("k")).size).toBe(1);
  });

  it("notices a root that appears after a failed check", async () => {
    const base = await tempDir("late");
    const adapter = new FsAdapter({ root: join(base, "later") });
    await expectStorageError(adapter.check(), "NotFound");
    await mkdir(join(base, "later"));
    await expect(adapter.check()).resolves.toBeUndefined();
  });

  it("fails check() with NotFound when the root is a file", async () => {
    const base = await tempDir("file-root");
    await writeFile(join(base, "not-a-folder"), "x");
    await expectStorageError(
      new FsAdapter({ root: join(base, "not-a-folder") }).check(),
      "NotFound",
    );
  });

  it("rejects a body shorter or longer than its contentLength, leaving nothing", async () => {
    const root = await tempDir("length");
    const adapter = new FsAdapter({ root });
    await expectStorageError(
      adapter.write("short", streamOf("abc"), { contentLength: 4 }),
      "InvalidArgument",
    );
    await expectStorageError(
      adapter.write("long", streamOf("abcde"), { contentLength: 4 }),
      "InvalidArgument",
    );
    await expectStorageError(adapter.stat("short"), "NotFound");
    await expectStorageError(adapter.stat("long"), "NotFound");
    expect(await debris(root)).toEqual([]);
  });

  it("needs a root", () => {
    expect(() => new FsAdapter({ root: "" })).toThrow(/root/);
  });

  // Tests run as root here, where permission bits cannot produce EACCES, so the mapping
  // itself is checked: permission problems are never "not found", a full disk is Full.
  it.each([
    ["ENOENT", "NotFound"],
    ["ENOTDIR", "NotFound"],
    ["EACCES", "Unauthorized"],
    ["EPERM", "Unauthorized"],
    ["EROFS", "Unauthorized"],
    ["ENOSPC", "Full"],
    ["EDQUOT", "Full"],
    ["EIO", "Unavailable"],
    ["EMFILE", "Unavailable"],
  ])("classifies %s as %s", (code, expected) => {
    expect(classifyFsError(errnoError(code))).toBe(expected);
  });
});
