import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expectStorageError, firstListStep, readAll, streamOf } from "@mediagate/core/conformance";
import { beforeAll, describe, expect, it } from "vitest";
import { FsAdapter } from "../src/index.ts";
import { tempDir } from "./temp-root.ts";

describe("symlinks cannot lead outside the root", () => {
  let root: string;
  let outside: string;
  let adapter: FsAdapter;

  beforeAll(async () => {
    const base = await tempDir("symlinks");
    root = join(base, "root");
    outside = join(base, "outside");
    await mkdir(root);
    await mkdir(outside);
    await writeFile(join(outside, "secret.txt"), "top secret");
    await symlink(outside, join(root, "escape"));
    await symlink(join(outside, "secret.txt"), join(root, "leak.txt"));
    await mkdir(join(root, "inner"));
    await symlink(join(root, ".mediagate"), join(root, "inner", "bookkeeping"));
    adapter = new FsAdapter({ root });
    await adapter.write("legit/file.txt", streamOf("fine"));
  });

  it("refuses to read or stat through a symlinked folder pointing outside", async () => {
    await expectStorageError(adapter.read("escape/secret.txt"), "Unauthorized");
    await expectStorageError(adapter.stat("escape/secret.txt"), "Unauthorized");
  });

  it("refuses to read or stat a symlinked file pointing outside", async () => {
    await expectStorageError(adapter.read("leak.txt"), "Unauthorized");
    await expectStorageError(adapter.stat("leak.txt"), "Unauthorized");
  });

  it("refuses to write through a symlinked folder, creating nothing outside", async () => {
    await expectStorageError(adapter.write("escape/planted.txt", streamOf("evil")), "Unauthorized");
    await expectStorageError(
      adapter.write("escape/deep/er/planted.txt", streamOf("evil")),
      "Unauthorized",
    );
    expect((await readdir(outside)).sort()).toEqual(["secret.txt"]);
  });

  it("refuses to delete through a symlinked folder, leaving the outside file alone", async () => {
    await expectStorageError(adapter.delete("escape/secret.txt"), "Unauthorized");
    expect(await readFile(join(outside, "secret.txt"), "utf8")).toBe("top secret");
  });

  it("refuses to list through a symlinked folder, and never lists symlinks", async () => {
    await expectStorageError(() => firstListStep(() => adapter.list("escape/")), "Unauthorized");
    const keys: string[] = [];
    for await (const entry of adapter.list()) keys.push(entry.key);
    expect(keys).toEqual(["legit/file.txt"]);
  });

  it("refuses a symlink into the adapter's own bookkeeping", async () => {
    await expectStorageError(adapter.stat("inner/bookkeeping/tmp"), "Unauthorized");
    await expectStorageError(
      adapter.write("inner/bookkeeping/meta/x", streamOf("evil")),
      "Unauthorized",
    );
  });

  it("deleting a symlinked file removes only the link", async () => {
    await adapter.delete("leak.txt");
    expect(await readFile(join(outside, "secret.txt"), "utf8")).toBe("top secret");
    expect((await readdir(root)).includes("leak.txt")).toBe(false);
  });

  it("works when the root itself is reached through a symlink", async () => {
    const base = await tempDir("linked-root");
    await mkdir(join(base, "real"));
    await symlink(join(base, "real"), join(base, "alias"));
    const linked = new FsAdapter({ root: join(base, "alias") });
    await linked.write("a/b.txt", streamOf("through the alias"));
    expect((await readAll((await linked.read("a/b.txt")).body)).toString()).toBe(
      "through the alias",
    );
    expect(await readFile(join(base, "real", "a", "b.txt"), "utf8")).toBe("through the alias");
    await expect(linked.check()).resolves.toBeUndefined();
  });
});
