import { access, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expectStorageError, streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter } from "../src/index.ts";
import { tempDir } from "./temp-root.ts";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe("folders", () => {
  it("removes folders a delete leaves empty, up to but never including the root", async () => {
    const root = await tempDir("prune");
    const adapter = new FsAdapter({ root });
    await adapter.write("a/b/c/x.txt", streamOf("x"));
    await adapter.write("a/y.txt", streamOf("y"));

    await adapter.delete("a/b/c/x.txt");
    expect(await exists(join(root, "a", "b"))).toBe(false);
    expect(await exists(join(root, "a", "y.txt"))).toBe(true);

    await adapter.delete("a/y.txt");
    expect(await exists(join(root, "a"))).toBe(false);
    expect(await exists(root)).toBe(true);
    expect((await readdir(root)).filter((n) => !n.startsWith("."))).toEqual([]);
  });

  it("writes into a folder again after a delete pruned it (its remembered path gone)", async () => {
    const root = await tempDir("regrow");
    const adapter = new FsAdapter({ root });
    await adapter.write("day/one.bin", streamOf("1"));
    await adapter.delete("day/one.bin");
    expect(await exists(join(root, "day"))).toBe(false);
    // The folder was proven and remembered by the first write; the second must make it again.
    await adapter.write("day/two.bin", streamOf("22"));
    expect((await adapter.stat("day/two.bin")).size).toBe(2);
    expect(await exists(join(root, "day", "two.bin"))).toBe(true);
    expect(await readdir(join(root, ".mediagate", "tmp"))).toEqual([]);
  });

  it("keeps a folder that still holds a file the adapter does not list", async () => {
    const root = await tempDir("foreign");
    const adapter = new FsAdapter({ root });
    await adapter.write("p/q/obj", streamOf("x"));
    await writeFile(join(root, "p", "q", ".operator-note"), "keep me");
    await adapter.delete("p/q/obj");
    expect(await exists(join(root, "p", "q", ".operator-note"))).toBe(true);
  });

  it("reports a key whose path crosses an object, or names a folder of objects, as Unsupported", async () => {
    const root = await tempDir("conflict");
    const adapter = new FsAdapter({ root });
    await adapter.write("file", streamOf("f"));
    await expectStorageError(adapter.write("file/child", streamOf("c")), "Unsupported");
    await adapter.write("dir/child", streamOf("c"));
    await expectStorageError(adapter.write("dir", streamOf("d")), "Unsupported");
    // Reading or deleting the folder's name finds no object, and leaves its contents alone.
    await expectStorageError(adapter.stat("dir"), "NotFound");
    await expectStorageError(adapter.read("dir"), "NotFound");
    await expectStorageError(adapter.read("file/child"), "NotFound");
    await adapter.delete("dir");
    expect((await adapter.stat("dir/child")).size).toBe(1);
    const tmp = await readdir(join(root, ".mediagate", "tmp"));
    expect(tmp).toEqual([]);
  });

  it("lists only valid keys, skipping hand-made files with names keys cannot have", async () => {
    const root = await tempDir("foreign-names");
    const adapter = new FsAdapter({ root });
    await adapter.write("ok/one", streamOf("1"));
    await mkdir(join(root, "ok", "sub"), { recursive: true });
    await writeFile(join(root, "ok", "sub", "bad?name"), "x");
    await writeFile(join(root, "ok", ".hidden"), "x");
    const keys: string[] = [];
    for await (const entry of adapter.list("ok/")) keys.push(entry.key);
    expect(keys).toEqual(["ok/one"]);
  });
});
