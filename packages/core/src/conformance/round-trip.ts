import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ObjectInfo } from "../adapter.ts";
import { DEFAULT_CONTENT_TYPE } from "../base-adapter.ts";
import { digestStream, patternBody, patternSlice, readAll } from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError } from "./errors.ts";

const TEN_MINUTES = 10 * 60 * 1000;

/** The fields every ObjectInfo must carry, whichever call returned it. */
function expectWellFormedInfo(info: ObjectInfo, key: string, size: number): void {
  expect(info.key).toBe(key);
  expect(info.size).toBe(size);
  expect(typeof info.etag).toBe("string");
  expect(info.etag.length).toBeGreaterThan(0);
  expect(info.etag, "etags are returned without surrounding quotes").not.toMatch(/^".*"$/);
  expect(info.lastModified).toBeInstanceOf(Date);
  expect(Number.isNaN(info.lastModified.getTime())).toBe(false);
  expect(Math.abs(info.lastModified.getTime() - Date.now())).toBeLessThan(TEN_MINUTES);
  expect(typeof info.metadata).toBe("object");
}

/** The fields that describe the stored object and must agree between write, stat and read. */
const stored = (info: ObjectInfo) => ({
  key: info.key,
  size: info.size,
  contentType: info.contentType,
  contentDisposition: info.contentDisposition,
  etag: info.etag,
  metadata: info.metadata,
});

export function roundTripTests(ctx: SuiteContext): void {
  describe("round trips", () => {
    it("stores and returns an empty body", async () => {
      const key = `${ctx.freshPrefix()}/empty`;
      const written = await ctx.put(key, Buffer.alloc(0));
      expectWellFormedInfo(written, key, 0);
      const { body, info, range } = await ctx.adapter.read(key);
      expect((await readAll(body)).length).toBe(0);
      expect(info.size).toBe(0);
      expect(range).toBeUndefined();
      expect((await ctx.adapter.stat(key)).size).toBe(0);
    });

    it("stores a small body with its content type, disposition and metadata", async () => {
      const key = `${ctx.freshPrefix()}/small.txt`;
      const text = "hello, mediagate\n";
      const metadata = { uid: "42", caption: "héllo wörld ✓ 日本語", note: "100% + more & less" };
      const written = await ctx.put(key, text, {
        contentType: "text/plain; charset=utf-8",
        contentDisposition: 'attachment; filename="small.txt"',
        contentLength: Buffer.byteLength(text),
        metadata,
      });
      expectWellFormedInfo(written, key, Buffer.byteLength(text));
      expect(written.contentType).toBe("text/plain; charset=utf-8");
      expect(written.contentDisposition).toBe('attachment; filename="small.txt"');
      expect(written.metadata).toEqual(metadata);

      const statted = await ctx.adapter.stat(key);
      expectWellFormedInfo(statted, key, Buffer.byteLength(text));
      expect(stored(statted)).toEqual(stored(written));

      const { body, info } = await ctx.adapter.read(key);
      expect((await readAll(body)).toString("utf8")).toBe(text);
      expect(stored(info)).toEqual(stored(written));
    });

    it("defaults the content type to application/octet-stream and leaves disposition unset", async () => {
      const key = `${ctx.freshPrefix()}/no-type`;
      const written = await ctx.put(key, "x");
      expect(written.contentType).toBe(DEFAULT_CONTENT_TYPE);
      expect(written.contentDisposition).toBeUndefined();
      expect(written.metadata).toEqual({});
      const statted = await ctx.adapter.stat(key);
      expect(statted.contentType).toBe(DEFAULT_CONTENT_TYPE);
      expect(statted.contentDisposition).toBeUndefined();
      expect(statted.metadata).toEqual({});
    });

    it("round-trips every byte value unchanged", async () => {
      const key = `${ctx.freshPrefix()}/binary.bin`;
      // Both directions, so each byte appears next to different neighbours (CRLF, NUL, 0xFF…).
      const ascending = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const bytes = Buffer.concat([ascending, Buffer.from(ascending).reverse()]);
      await ctx.put(key, bytes, { contentType: "application/octet-stream" });
      const { body } = await ctx.adapter.read(key);
      expect((await readAll(body)).equals(bytes)).toBe(true);
    });

    it("streams a large body of unknown length and reads back the same sha256", async () => {
      const key = `${ctx.freshPrefix()}/large.bin`;
      const size = ctx.largeBodyBytes;
      const source = patternBody(size);
      const written = await ctx.adapter.write(key, source.stream, { contentType: "video/mp4" });
      expectWellFormedInfo(written, key, size);
      const { body, info } = await ctx.adapter.read(key);
      expect(info.size).toBe(size);
      expect(info.etag).toBe(written.etag);
      const got = await digestStream(body);
      expect(got.bytes).toBe(size);
      expect(got.sha256).toBe(await source.sha256);

      // Ranges across the places multipart uploads usually cut parts (5 and 8 MiB) and the end.
      const MiB = 1024 * 1024;
      for (const at of [5 * MiB, 8 * MiB, size]) {
        const start = Math.max(0, Math.min(at, size) - 100);
        const end = Math.min(start + 199, size - 1);
        const ranged = await ctx.adapter.read(key, { range: { start, end: start + 199 } });
        expect(ranged.range).toEqual({ start, end });
        expect((await readAll(ranged.body)).equals(patternSlice(start, end))).toBe(true);
      }
    });

    it("streams a large body with a declared contentLength", async () => {
      const key = `${ctx.freshPrefix()}/large-known.bin`;
      // Smaller than the unknown-length case: it checks the code path, not the part maths again.
      const size = Math.max(1, Math.floor(ctx.largeBodyBytes / 2) + 7);
      const source = patternBody(size);
      const written = await ctx.adapter.write(key, source.stream, { contentLength: size });
      expect(written.size).toBe(size);
      const got = await digestStream((await ctx.adapter.read(key)).body);
      expect(got).toEqual({ sha256: await source.sha256, bytes: size });
    });

    it("keeps concurrent writes to distinct keys apart", async () => {
      const prefix = ctx.freshPrefix();
      const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(1000 + i * 4096));
      const infos = await Promise.all(bodies.map((bytes, i) => ctx.put(`${prefix}/c${i}`, bytes)));
      infos.forEach((info, i) => expect(info.size).toBe(bodies[i]?.length));
      await Promise.all(
        bodies.map(async (bytes, i) => {
          const { body } = await ctx.adapter.read(`${prefix}/c${i}`);
          const digest = createHash("sha256")
            .update(await readAll(body))
            .digest("hex");
          expect(digest).toBe(createHash("sha256").update(bytes).digest("hex"));
        }),
      );
    });
  });

  describe("keys", () => {
    const awkward = [
      "dir with space/file name (1).txt",
      "naïve/ファイル 写真.jpg",
      "a+b=c@d,e!/x+y.bin",
      "Ünïcödé/ÅÄÖ-ñ_ç",
    ];

    it("round-trips keys with spaces, unicode and '+' and lists them back unchanged", async () => {
      const prefix = ctx.freshPrefix();
      const keys = awkward.map((k) => `${prefix}/${k}`.normalize("NFC"));
      for (const [i, key] of keys.entries()) {
        const info = await ctx.put(key, `body ${i}`);
        expect(info.key).toBe(key);
      }
      for (const [i, key] of keys.entries()) {
        const { body, info } = await ctx.adapter.read(key);
        expect(info.key).toBe(key);
        expect((await readAll(body)).toString()).toBe(`body ${i}`);
        expect((await ctx.adapter.stat(key)).key).toBe(key);
      }
      const listed = await ctx.keysUnder(`${prefix}/`);
      expect([...listed].sort()).toEqual([...keys].sort());
    });

    it("does not confuse '+' with a space", async () => {
      const prefix = ctx.freshPrefix();
      await ctx.put(`${prefix}/a+b`, "plus");
      await expectStorageError(ctx.adapter.stat(`${prefix}/a b`), "NotFound");
      await ctx.put(`${prefix}/a b`, "space");
      expect((await readAll((await ctx.adapter.read(`${prefix}/a+b`)).body)).toString()).toBe(
        "plus",
      );
      expect((await readAll((await ctx.adapter.read(`${prefix}/a b`)).body)).toString()).toBe(
        "space",
      );
    });
  });

  describe("not found, overwrite and delete", () => {
    it("rejects read and stat of a missing key with NotFound", async () => {
      const key = `${ctx.freshPrefix()}/missing`;
      await expectStorageError(ctx.adapter.read(key), "NotFound");
      await expectStorageError(ctx.adapter.stat(key), "NotFound");
      await expectStorageError(ctx.adapter.read(key, { range: { start: 0, end: 0 } }), "NotFound");
    });

    it("overwrites bytes, content type, disposition and metadata together", async () => {
      const key = `${ctx.freshPrefix()}/over`;
      const first = await ctx.put(key, "first version, rather long", {
        contentType: "text/plain",
        contentDisposition: "attachment",
        metadata: { a: "1", b: "2" },
      });
      const second = await ctx.put(key, "second", {
        contentType: "image/png",
        metadata: { c: "3" },
      });
      expect(second.etag).not.toBe(first.etag);
      for (const info of [second, await ctx.adapter.stat(key)]) {
        expect(info.size).toBe(6);
        expect(info.contentType).toBe("image/png");
        expect(info.contentDisposition).toBeUndefined();
        expect(info.metadata).toEqual({ c: "3" });
        expect(info.etag).toBe(second.etag);
      }
      const { body, info } = await ctx.adapter.read(key);
      expect((await readAll(body)).toString()).toBe("second");
      expect(info.metadata).toEqual({ c: "3" });
    });

    it("changes the etag when the bytes change, even at the same size", async () => {
      const key = `${ctx.freshPrefix()}/etag`;
      const first = await ctx.put(key, "aaaa");
      const second = await ctx.put(key, "bbbb");
      expect(second.etag).not.toBe(first.etag);
      expect((await ctx.adapter.stat(key)).etag).toBe(second.etag);
    });

    it("deletes an object so read, stat and list no longer see it", async () => {
      const prefix = ctx.freshPrefix();
      const key = `${prefix}/doomed`;
      await ctx.put(key, "bye");
      await ctx.put(`${prefix}/kept`, "stay");
      await ctx.adapter.delete(key);
      await expectStorageError(ctx.adapter.stat(key), "NotFound");
      await expectStorageError(ctx.adapter.read(key), "NotFound");
      expect(await ctx.keysUnder(`${prefix}/`)).toEqual([`${prefix}/kept`]);
      await expect(ctx.adapter.delete(key)).resolves.toBeUndefined();
    });

    it("succeeds deleting a key that never existed", async () => {
      await expect(ctx.adapter.delete(`${ctx.freshPrefix()}/never/was`)).resolves.toBeUndefined();
    });
  });
}
