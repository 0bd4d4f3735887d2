import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Metadata } from "../metadata.ts";
import { digestStream, patternSlice, readAll } from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError } from "./errors.ts";

/**
 * A pattern body that, like the gateway's byte meter, only knows its size and sha256 once
 * it has ended, and a `finalMetadata` that reports them — and refuses to answer early, so
 * an adapter calling it before the last body byte fails the write.
 */
function measuredBody(size: number, chunkBytes = 64 * 1024) {
  const hash = createHash("sha256");
  let offset = 0;
  let digest: string | undefined;
  let calls = 0;
  const stream = new Readable({
    read() {
      if (offset >= size) {
        digest = hash.digest("hex");
        this.push(null);
        return;
      }
      const end = Math.min(size, offset + chunkBytes) - 1;
      const chunk = patternSlice(offset, end);
      offset = end + 1;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  const finalMetadata = (): Metadata => {
    calls += 1;
    if (digest === undefined)
      throw new Error(`finalMetadata called after ${offset} of ${size} bytes`);
    return { size: String(offset), sha256: digest };
  };
  return {
    stream,
    finalMetadata,
    get calls() {
      return calls;
    },
    get sha256() {
      return digest;
    },
  };
}

export function finalMetadataTests(ctx: SuiteContext): void {
  /** No object under `key`, nothing in the listing, no backend debris. */
  async function expectNothingLeft(prefix: string, key: string): Promise<void> {
    await expectStorageError(ctx.adapter.stat(key), "NotFound");
    expect(await ctx.keysUnder(`${prefix}/`)).toEqual([]);
    expect(await ctx.leftovers()).toEqual([]);
  }

  async function roundTrip(key: string, size: number): Promise<void> {
    const body = measuredBody(size);
    const start = { uid: "42", size: "unknown", filename: "clip 日本 ✓.mp4" };
    const written = await ctx.adapter.write(key, body.stream, {
      contentType: "video/mp4",
      contentDisposition: 'attachment; filename="clip.mp4"',
      metadata: start,
      finalMetadata: body.finalMetadata,
    });
    expect(body.calls).toBe(1);
    const expected = { ...start, size: String(size), sha256: body.sha256 };
    expect(written.metadata).toEqual(expected);
    expect(written.size).toBe(size);

    const statted = await ctx.adapter.stat(key);
    expect(statted.metadata).toEqual(expected);
    expect(statted.contentType).toBe("video/mp4");
    expect(statted.contentDisposition).toBe('attachment; filename="clip.mp4"');
    expect(statted.etag).toBe(written.etag);

    const { body: stored, info } = await ctx.adapter.read(key);
    expect(info.metadata).toEqual(expected);
    expect(info.etag).toBe(written.etag);
    const got = await digestStream(stored);
    expect(got).toEqual({ sha256: body.sha256, bytes: size });
  }

  async function expectRefused(
    size: number,
    finalMetadata: () => Metadata,
    why: RegExp,
  ): Promise<void> {
    const prefix = ctx.freshPrefix();
    const key = `${prefix}/refused`;
    const body = measuredBody(size);
    const error = await expectStorageError(
      ctx.adapter.write(key, body.stream, { metadata: { uid: "42" }, finalMetadata }),
      "InvalidArgument",
    );
    expect(error.message).toMatch(why);
    await expectNothingLeft(prefix, key);
  }

  const throwing = () => {
    throw new Error("checksum unavailable");
  };
  const invalidKey = () => ({ "Not-Valid": "x" });
  const tooLarge = () => ({ blob: "x".repeat(4096) });

  describe("metadata known at the end of the body (finalMetadata)", () => {
    it("stores final metadata merged over the start metadata for a small body", async () => {
      await roundTrip(`${ctx.freshPrefix()}/small.mp4`, 1000);
    });

    it("stores final metadata for an empty body", async () => {
      await roundTrip(`${ctx.freshPrefix()}/empty.mp4`, 0);
    });

    it("stores final metadata for a large multi-part body under a key needing encoding", async () => {
      // Spaces, '+', '%' look-alikes and non-ASCII: copies and patches name the object in
      // a URL or header, where the classic bug turns '+' into a space.
      const key = `${ctx.freshPrefix()}/big file+1 (ü 日本) a=b.bin`;
      await roundTrip(key, ctx.largeBodyBytes);
    });

    it("replaces an older object's metadata entirely on overwrite", async () => {
      const key = `${ctx.freshPrefix()}/again.bin`;
      await ctx.put(key, "old", { metadata: { old: "1", uid: "7" } });
      await roundTrip(key, 2000);
      expect((await ctx.adapter.stat(key)).metadata).not.toHaveProperty("old");
    });

    it("rejects a small write whose finalMetadata throws, leaving nothing", async () => {
      await expectRefused(1000, throwing, /checksum unavailable/);
    });

    it("rejects a large write whose finalMetadata throws, leaving nothing", async () => {
      await expectRefused(ctx.largeBodyBytes, throwing, /checksum unavailable/);
    });

    it("rejects a small write whose finalMetadata breaks the key rules, leaving nothing", async () => {
      await expectRefused(1000, invalidKey, /Not-Valid/);
    });

    it("rejects a large write whose merged metadata is too large, leaving nothing", async () => {
      await expectRefused(ctx.largeBodyBytes, tooLarge, /bytes/);
    });

    it("calls finalMetadata only after the last byte, and refuses a non-function", async () => {
      const prefix = ctx.freshPrefix();
      await expectStorageError(
        ctx.adapter.write(`${prefix}/x`, Readable.from([Buffer.from("x")]), {
          finalMetadata: "size=1" as unknown as () => Metadata,
        }),
        "InvalidArgument",
      );
      // measuredBody's finalMetadata throws when called early: a stored object proves order.
      const key = `${prefix}/ordered`;
      const body = measuredBody(300 * 1024, 16 * 1024);
      await ctx.adapter.write(key, body.stream, { finalMetadata: body.finalMetadata });
      expect((await ctx.adapter.stat(key)).metadata.size).toBe(String(300 * 1024));
      const { body: stored } = await ctx.adapter.read(key, { range: { start: 0, end: 9 } });
      expect((await readAll(stored)).equals(patternSlice(0, 9))).toBe(true);
    });
  });
}
