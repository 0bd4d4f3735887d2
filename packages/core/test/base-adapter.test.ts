/**
 * The rules BaseAdapter applies for every driver, checked on a scripted driver that records
 * which backend calls it was asked to make: prefix + key must fit before any I/O, listings
 * drop names that are not keys, and delete is idempotent for missing objects only.
 */
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { expectStorageError, firstListStep, streamOf } from "../src/conformance/index.ts";
import {
  BaseAdapter,
  MAX_KEY_BYTES,
  StorageError,
  type ListEntry,
  type ObjectInfo,
  type ReadResult,
} from "../src/index.ts";

class ScriptedAdapter extends BaseAdapter {
  readonly name = "scripted";
  /** Backend names the listing returns (prefix included), in order. */
  names: string[] = [];
  /** What deleteObject throws, if anything. */
  deleteError: unknown;
  /** What listObjects throws, if anything. */
  listError: unknown;
  /** Backend calls made, as "operation name". */
  readonly calls: string[] = [];

  constructor(prefix?: string) {
    super({ prefix });
  }

  protected async writeObject(key: string, body: Readable): Promise<ObjectInfo> {
    this.calls.push(`write ${this.keyPrefix.apply(key)}`);
    body.resume();
    throw new Error("not scripted");
  }

  protected async readObject(key: string): Promise<ReadResult> {
    this.calls.push(`read ${this.keyPrefix.apply(key)}`);
    throw new StorageError("NotFound", "scripted");
  }

  protected async statObject(key: string): Promise<ObjectInfo> {
    this.calls.push(`stat ${this.keyPrefix.apply(key)}`);
    throw new StorageError("NotFound", "scripted");
  }

  protected async deleteObject(key: string): Promise<void> {
    this.calls.push(`delete ${this.keyPrefix.apply(key)}`);
    if (this.deleteError !== undefined) throw this.deleteError;
  }

  protected async *listObjects(prefix: string): AsyncIterable<ListEntry> {
    const namePrefix = this.keyPrefix.apply(prefix);
    this.calls.push(`list ${namePrefix}`);
    if (this.listError !== undefined) throw this.listError;
    for (const name of this.names) {
      const key = this.keyPrefix.strip(name);
      if (key !== undefined && name.startsWith(namePrefix)) {
        yield { key, size: 0, lastModified: new Date(0) };
      }
    }
  }

  protected async checkBackend(): Promise<void> {
    this.calls.push("check");
  }
}

const keys = async (iterable: AsyncIterable<ListEntry>) => {
  const out: string[] = [];
  for await (const entry of iterable) out.push(entry.key);
  return out;
};

describe("BaseAdapter: prefix + key must fit", () => {
  // 999 bytes in segments the key rules accept (at most 255 bytes each).
  const prefix = Array.from({ length: 5 }, () => "p".repeat(199)).join("/");
  const room = MAX_KEY_BYTES - (prefix.length + 1);

  it("rejects every keyed call with InvalidKey before any backend call", async () => {
    const adapter = new ScriptedAdapter(prefix);
    const key = "k".repeat(room + 1);
    await expectStorageError(() => adapter.write(key, streamOf("x")), "InvalidKey");
    await expectStorageError(() => adapter.read(key), "InvalidKey");
    await expectStorageError(() => adapter.stat(key), "InvalidKey");
    await expectStorageError(() => adapter.delete(key), "InvalidKey");
    await expectStorageError(() => firstListStep(() => adapter.list(key)), "InvalidKey");
    expect(adapter.calls).toEqual([]);
  });

  it("passes a key that fills the limit exactly", async () => {
    const adapter = new ScriptedAdapter(prefix);
    const key = "k".repeat(room);
    await expectStorageError(() => adapter.stat(key), "NotFound");
    expect(adapter.calls).toEqual([`stat ${prefix}/${key}`]);
  });

  it("without a prefix, the key rules alone decide", async () => {
    const adapter = new ScriptedAdapter();
    await expectStorageError(() => adapter.stat("k".repeat(255)), "NotFound");
    expect(adapter.calls).toEqual([`stat ${"k".repeat(255)}`]);
  });
});

describe("BaseAdapter: listing", () => {
  it("skips names that are not valid keys, on every driver alike", async () => {
    const adapter = new ScriptedAdapter("tenant");
    adapter.names = [
      "tenant/a/.hidden",
      "tenant/a/b:c",
      "tenant/a/folder/",
      "tenant/a/ok",
      "tenant/a/x//y",
      "tenant/a/zz",
    ];
    expect(await keys(adapter.list("a/"))).toEqual(["a/ok", "a/zz"]);
  });
});

describe("BaseAdapter: delete", () => {
  const objectMissing = () => new StorageError("NotFound", "no such object");

  it("succeeds when the object is missing and the bucket answers a listing", async () => {
    const adapter = new ScriptedAdapter("tenant");
    adapter.deleteError = objectMissing();
    await expect(adapter.delete("gone")).resolves.toBeUndefined();
    expect(adapter.calls).toEqual(["delete tenant/gone", "list tenant/"]);
  });

  it("rejects NotFound when the bucket itself is missing", async () => {
    const adapter = new ScriptedAdapter();
    adapter.deleteError = objectMissing();
    adapter.listError = Object.assign(new Error("bucket does not exist"), { status: 404 });
    const error = await expectStorageError(() => adapter.delete("gone"), "NotFound");
    expect(error.message).toMatch(/bucket/);
    expect(error.operation).toBe("delete");
  });

  it("reports the probe's own failure when it cannot tell which NotFound it was", async () => {
    const adapter = new ScriptedAdapter();
    adapter.deleteError = objectMissing();
    adapter.listError = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    await expectStorageError(() => adapter.delete("gone"), "Unavailable");
  });

  it("does not probe when the delete failed for another reason", async () => {
    const adapter = new ScriptedAdapter();
    adapter.deleteError = Object.assign(new Error("denied"), { status: 403 });
    await expectStorageError(() => adapter.delete("k"), "Unauthorized");
    expect(adapter.calls).toEqual(["delete k"]);
  });

  it("lets a driver that can tell from the error skip the probe", async () => {
    class Decisive extends ScriptedAdapter {
      protected override async bucketIsMissing(notFound: StorageError): Promise<boolean> {
        return notFound.message.includes("bucket");
      }
    }
    const adapter = new Decisive();
    adapter.deleteError = new StorageError("NotFound", "no such bucket");
    await expectStorageError(() => adapter.delete("k"), "NotFound");
    adapter.deleteError = objectMissing();
    await expect(adapter.delete("k")).resolves.toBeUndefined();
    expect(adapter.calls).toEqual(["delete k", "delete k"]);
  });
});
