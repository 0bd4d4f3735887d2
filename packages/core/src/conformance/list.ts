import { describe, expect, it } from "vitest";
import type { ListEntry } from "../adapter.ts";
import { compareKeys } from "../key-order.ts";
import type { SuiteContext } from "./context.ts";

export function listTests(ctx: SuiteContext): void {
  describe("list", () => {
    it("filters by prefix: 'a/' is a folder, 'a' and 'ab' are plain string prefixes", async () => {
      const p = ctx.freshPrefix();
      const names = ["a/1", "a/2", "a-c", "ab", "abc/x", "b", "a0"];
      for (const name of names) await ctx.put(`${p}/${name}`, name);
      const under = async (prefix: string) =>
        (await ctx.keysUnder(`${p}/${prefix}`)).map((k) => k.slice(p.length + 1));

      expect(await under("a/")).toEqual(["a/1", "a/2"]);
      expect(await under("a")).toEqual(["a-c", "a/1", "a/2", "a0", "ab", "abc/x"]);
      expect(await under("ab")).toEqual(["ab", "abc/x"]);
      expect(await under("abc/")).toEqual(["abc/x"]);
      expect(await under("b")).toEqual(["b"]);
      expect(await under("a/1")).toEqual(["a/1"]);
    });

    it("yields keys in UTF-8 byte order, nested keys included", async () => {
      const p = ctx.freshPrefix();
      // '-' (0x2D) < '/' (0x2F) < '0' (0x30): a naive directory walk puts "x/…" before "x-…".
      const names = ["x0", "x/y/z", "x-1", "x/y", "x", "B", "a", "é", "z", "x/y-1", "x/y/0"].map(
        (n) => n.normalize("NFC"),
      );
      // "x/y" and "x/y/z" cannot both be files on a filesystem; keep only keys all backends hold.
      const storable = names.filter((n) => n !== "x/y" && n !== "x");
      for (const name of storable) await ctx.put(`${p}/${name}`, name);
      const listed = await ctx.keysUnder(`${p}/`);
      const expected = storable.map((n) => `${p}/${n}`).sort(compareKeys);
      expect(listed).toEqual(expected);
    });

    it("reports size, lastModified and a matching etag for each entry", async () => {
      const p = ctx.freshPrefix();
      const written = await ctx.put(`${p}/sized`, "12345");
      const entries: ListEntry[] = [];
      for await (const entry of ctx.adapter.list(`${p}/`)) entries.push(entry);
      expect(entries.length).toBe(1);
      const [entry] = entries;
      expect(entry?.key).toBe(`${p}/sized`);
      expect(entry?.size).toBe(5);
      expect(entry?.lastModified).toBeInstanceOf(Date);
      expect(Number.isNaN(entry?.lastModified.getTime())).toBe(false);
      if (entry?.etag !== undefined) expect(entry.etag).toBe(written.etag);
    });

    it("paginates across several pages with a small pageSize", async () => {
      const p = ctx.freshPrefix();
      const keys = Array.from({ length: 7 }, (_, i) => `${p}/item-${i}`);
      await Promise.all(keys.map((key) => ctx.put(key, key)));
      const seen: string[] = [];
      for await (const entry of ctx.adapter.list(`${p}/`, { pageSize: 2 })) seen.push(entry.key);
      expect(seen).toEqual(keys);
      const single: string[] = [];
      for await (const entry of ctx.adapter.list(`${p}/`, { pageSize: 1 })) single.push(entry.key);
      expect(single).toEqual(keys);
    });

    it("fetches pages lazily: a key added after the first page is still listed, and breaking early works", async () => {
      const p = ctx.freshPrefix();
      const names = ["d1/a", "d1/b", "d2/a", "d2/b", "d3/a", "d3/b"];
      for (const name of names) await ctx.put(`${p}/${name}`, name);
      const seen: string[] = [];
      for await (const entry of ctx.adapter.list(`${p}/`, { pageSize: 2 })) {
        seen.push(entry.key);
        // An eager listing has already fetched everything and will never see this key.
        if (seen.length === 1) await ctx.put(`${p}/d3/c`, "late");
      }
      expect(seen).toEqual([...names, "d3/c"].map((n) => `${p}/${n}`));

      const firstThree: string[] = [];
      for await (const entry of ctx.adapter.list(`${p}/`, { pageSize: 2 })) {
        firstThree.push(entry.key);
        if (firstThree.length === 3) break;
      }
      expect(firstThree).toEqual(names.slice(0, 3).map((n) => `${p}/${n}`));
      // The adapter is still usable after the abandoned listing.
      expect((await ctx.adapter.stat(`${p}/d1/a`)).size).toBe(4);
    });

    if (ctx.options.rawObjects) {
      const raw = ctx.options.rawObjects;
      it("skips names other tools stored that are not valid keys, across pages", async () => {
        const p = ctx.freshPrefix();
        // A console's folder placeholder, a dot segment, a character keys refuse: names
        // every backend (and its test server) stores as given.
        const names = ["folder/", ".hidden", "a:b"].map((n) => `${p}/${n}`);
        await Promise.all(names.map((name) => raw.put(name, Buffer.from("raw"))));
        try {
          await ctx.put(`${p}/ok`, "ok");
          expect(await ctx.keysUnder(`${p}/`)).toEqual([`${p}/ok`]);
          // Pages holding only skipped names must not end the listing early.
          const single: string[] = [];
          for await (const entry of ctx.adapter.list(`${p}/`, { pageSize: 1 })) {
            single.push(entry.key);
          }
          expect(single).toEqual([`${p}/ok`]);
        } finally {
          await Promise.all(names.map((name) => raw.remove(name)));
        }
      });
    }

    it("yields nothing for a prefix no key has", async () => {
      const p = ctx.freshPrefix();
      await ctx.put(`${p}/present`, "x");
      expect(await ctx.keysUnder(`${p}/absent/`)).toEqual([]);
      expect(await ctx.keysUnder(`${p}/absent`)).toEqual([]);
      expect(await ctx.keysUnder(`${p}/presentx`)).toEqual([]);
      expect(await ctx.keysUnder(`${ctx.freshPrefix()}/`)).toEqual([]);
    });
  });
}
