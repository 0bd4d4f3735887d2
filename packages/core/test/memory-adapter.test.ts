import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { describeConformance, expectStorageError, streamOf } from "../src/conformance/index.ts";
import { MemoryAdapter } from "../src/index.ts";

let store: MemoryAdapter | undefined;

describeConformance({
  name: "memory",
  signedUrls: false,
  // Smaller than the default: the memory adapter has no parts to span, only bytes to compare.
  largeBodyBytes: 6 * 1024 * 1024,
  setup: async () => {
    const adapter = new MemoryAdapter();
    store = adapter;
    return { adapter, leftovers: async () => adapter.inFlightWrites() };
  },
  prefixed: (prefix) => {
    if (!store) throw new Error("setup() has not run");
    return store.withPrefix(prefix);
  },
});

describe("MemoryAdapter", () => {
  it("hands out copies, so callers cannot change what is stored", async () => {
    const adapter = new MemoryAdapter();
    const written = await adapter.write("k", streamOf("x"), { metadata: { a: "1" } });
    written.metadata.a = "changed";
    const statted = await adapter.stat("k");
    statted.metadata.b = "added";
    expect((await adapter.stat("k")).metadata).toEqual({ a: "1" });
  });

  it("counts and clears its objects", async () => {
    const adapter = new MemoryAdapter();
    await adapter.write("a", streamOf("1"));
    await adapter.write("b/c", streamOf("2"));
    expect(adapter.size).toBe(2);
    adapter.clear();
    expect(adapter.size).toBe(0);
    await expectStorageError(adapter.stat("a"), "NotFound");
  });

  it("reports a write as in flight until its body ends", async () => {
    const adapter = new MemoryAdapter();
    const body = new PassThrough();
    const writing = adapter.write("slow", body);
    body.write("part");
    expect(adapter.inFlightWrites()).toEqual(["slow"]);
    await expectStorageError(adapter.stat("slow"), "NotFound");
    body.end();
    await writing;
    expect(adapter.inFlightWrites()).toEqual([]);
  });

  it("namespaces a prefixed view of the same objects", async () => {
    const adapter = new MemoryAdapter();
    const tenant = adapter.withPrefix("tenant-a");
    await tenant.write("k", streamOf("mine"));
    await adapter.write("tenant-b/k", streamOf("theirs"));
    expect((await adapter.stat("tenant-a/k")).key).toBe("tenant-a/k");
    expect((await tenant.stat("k")).key).toBe("k");
    const listed: string[] = [];
    for await (const entry of tenant.list()) listed.push(entry.key);
    expect(listed).toEqual(["k"]);
  });
});
