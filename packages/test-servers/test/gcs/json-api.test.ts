import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGcsTestServer, type GcsTestServer } from "../../src/gcs/index.ts";
import { expectErrorBody, hashesOf, multipartBody } from "./helpers.ts";

// Written from the Cloud Storage JSON API reference (objects insert/get/list/delete,
// buckets insert/get/list/delete, media downloads, status codes), with raw HTTP requests.

/** The object resource fields these tests read. */
interface ObjectResource {
  generation: string;
  etag: string;
  mediaLink: string;
  crc32c: string;
  md5Hash: string;
  timeCreated: string;
}
const resourceOf = async (response: Response) => (await response.json()) as ObjectResource;

let server: GcsTestServer;
let api: string;
let upload: string;

beforeAll(async () => {
  server = await startGcsTestServer({ buckets: ["media-bucket"] });
  api = `${server.url}/storage/v1`;
  upload = `${server.url}/upload/storage/v1`;
});
afterAll(() => server.stop());

const put = (name: string, bytes: string | Buffer, contentType = "application/octet-stream") =>
  fetch(`${upload}/b/media-bucket/o?uploadType=media&name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: bytes,
  });

describe("buckets", () => {
  it("inserts (project required), gets, lists and deletes buckets", async () => {
    await expectErrorBody(
      await fetch(`${api}/b`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"name":"new-bucket"}',
      }),
      400,
      "required",
    );
    const created = await fetch(`${api}/b?project=p1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "new-bucket" }),
    });
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({
      kind: "storage#bucket",
      name: "new-bucket",
      id: "new-bucket",
    });
    await expectErrorBody(
      await fetch(`${api}/b?project=p1`, {
        method: "POST",
        body: JSON.stringify({ name: "new-bucket" }),
      }),
      409,
      "conflict",
    );
    await expectErrorBody(
      await fetch(`${api}/b?project=p1`, {
        method: "POST",
        body: JSON.stringify({ name: "Bad_Name!" }),
      }),
      400,
    );
    expect(await (await fetch(`${api}/b/new-bucket`)).json()).toMatchObject({
      name: "new-bucket",
      metageneration: "1",
    });
    const listed = (await (await fetch(`${api}/b?project=p1`)).json()) as {
      items: { name: string }[];
    };
    expect(listed.items.map((b) => b.name)).toEqual(["media-bucket", "new-bucket"]);
    expect((await fetch(`${api}/b/new-bucket`, { method: "DELETE" })).status).toBe(204);
    await expectErrorBody(await fetch(`${api}/b/new-bucket`), 404, "notFound");
  });

  it("refuses to delete a bucket that still holds objects", async () => {
    await put("keep.txt", "x");
    await expectErrorBody(await fetch(`${api}/b/media-bucket`, { method: "DELETE" }), 409);
  });
});

describe("objects.insert", () => {
  it("uploadType=media stores the body with the request's Content-Type", async () => {
    const bytes = Buffer.from("hello media upload");
    const response = await put("docs/hello.txt", bytes, "text/plain");
    expect(response.status).toBe(200);
    const resource = await resourceOf(response);
    expect(resource).toMatchObject({
      kind: "storage#object",
      bucket: "media-bucket",
      name: "docs/hello.txt",
      contentType: "text/plain",
      size: String(bytes.length),
      metageneration: "1",
      storageClass: "STANDARD",
      ...hashesOf(bytes),
    });
    expect(resource.generation).toMatch(/^\d+$/);
    expect(typeof resource.etag).toBe("string");
    expect(Date.parse(resource.timeCreated)).not.toBeNaN();
  });

  it("uploadType=multipart takes metadata from the JSON part and bytes from the second", async () => {
    const media = Buffer.from([0, 1, 2, 255, 13, 10, 45, 45]);
    const { body, contentType } = multipartBody(
      {
        name: "multi/part.bin",
        contentType: "image/png",
        contentDisposition: "inline",
        metadata: { uid: "7", caption: "日本" },
      },
      media,
      "application/octet-stream",
    );
    const response = await fetch(`${upload}/b/media-bucket/o?uploadType=multipart`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      name: "multi/part.bin",
      contentType: "image/png",
      contentDisposition: "inline",
      metadata: { uid: "7", caption: "日本" },
      size: "8",
      ...hashesOf(media),
    });
  });

  it("uses the media part's Content-Type when the metadata names none, and ?name= over metadata", async () => {
    const { body, contentType } = multipartBody(
      { name: "ignored" },
      Buffer.from("<svg/>"),
      "image/svg+xml",
    );
    const response = await fetch(
      `${upload}/b/media-bucket/o?uploadType=multipart&name=from-query.svg`,
      {
        method: "POST",
        headers: { "content-type": contentType },
        body,
      },
    );
    expect(await response.json()).toMatchObject({
      name: "from-query.svg",
      contentType: "image/svg+xml",
    });
  });

  it("rejects unknown upload types, missing names, bad names, metadata of the wrong type, and missing buckets", async () => {
    const post = (query: string, init: RequestInit = {}) =>
      fetch(`${upload}/b/media-bucket/o?${query}`, { method: "POST", body: "x", ...init });
    await expectErrorBody(await post("uploadType=chunky&name=a"), 400);
    await expectErrorBody(await post("uploadType=media"), 400, "required");
    await expectErrorBody(
      await post(`uploadType=media&name=${encodeURIComponent("line\nbreak")}`),
      400,
    );
    await expectErrorBody(await post("uploadType=media&name=.."), 400);
    const { body, contentType } = multipartBody(
      { name: "m", metadata: { n: 1 } },
      Buffer.from("x"),
    );
    await expectErrorBody(
      await post("uploadType=multipart", { headers: { "content-type": contentType }, body }),
      400,
    );
    await expectErrorBody(
      await fetch(`${upload}/b/no-such-bucket/o?uploadType=media&name=a`, {
        method: "POST",
        body: "x",
      }),
      404,
    );
    expect(server.objects()).not.toContain("media-bucket/m");
  });

  it("honours ifGenerationMatch: 0 means 'only if absent', a generation means 'only that one'", async () => {
    const first = await resourceOf(await put("cond.txt", "v1"));
    await expectErrorBody(
      await fetch(`${upload}/b/media-bucket/o?uploadType=media&name=cond.txt&ifGenerationMatch=0`, {
        method: "POST",
        body: "v2",
      }),
      412,
      "conditionNotMet",
    );
    const second = await fetch(
      `${upload}/b/media-bucket/o?uploadType=media&name=cond.txt&ifGenerationMatch=${first.generation}`,
      { method: "POST", body: "v2" },
    );
    expect(second.status).toBe(200);
    const replaced = await resourceOf(second);
    expect(BigInt(replaced.generation)).toBeGreaterThan(BigInt(first.generation));
    expect(replaced.etag).not.toBe(first.etag);
  });
});

describe("objects.get", () => {
  it("returns the resource, and the bytes with alt=media, with an encoded '/' in the name", async () => {
    const bytes = Buffer.from("0123456789");
    const created = await resourceOf(await put("dir/sub/file.txt", bytes, "text/plain"));
    const meta = await fetch(`${api}/b/media-bucket/o/${encodeURIComponent("dir/sub/file.txt")}`);
    expect(await meta.json()).toEqual(created);
    const media = await fetch(
      `${api}/b/media-bucket/o/${encodeURIComponent("dir/sub/file.txt")}?alt=media`,
    );
    expect(media.status).toBe(200);
    expect(media.headers.get("content-type")).toBe("text/plain");
    expect(media.headers.get("content-length")).toBe("10");
    expect(media.headers.get("x-goog-generation")).toBe(created.generation);
    expect(media.headers.get("x-goog-hash")).toBe(
      `crc32c=${created.crc32c},md5=${created.md5Hash}`,
    );
    expect(media.headers.get("x-goog-stored-content-length")).toBe("10");
    expect(await media.text()).toBe("0123456789");
    // The same download through the mediaLink form of the URL.
    expect(await (await fetch(created.mediaLink)).text()).toBe("0123456789");
  });

  it("serves single byte ranges with 206, and 416 with the size when unsatisfiable", async () => {
    await put("range.txt", "0123456789");
    const get = (range: string) =>
      fetch(`${api}/b/media-bucket/o/range.txt?alt=media`, { headers: { range } });
    const cases: [string, number, string, string | null][] = [
      ["bytes=2-5", 206, "2345", "bytes 2-5/10"],
      ["bytes=7-", 206, "789", "bytes 7-9/10"],
      ["bytes=-3", 206, "789", "bytes 7-9/10"],
      ["bytes=8-100", 206, "89", "bytes 8-9/10"],
      ["bytes=-100", 206, "0123456789", "bytes 0-9/10"],
      ["bytes=0-0", 206, "0", "bytes 0-0/10"],
    ];
    for (const [range, status, body, contentRange] of cases) {
      const response = await get(range);
      expect(response.status, range).toBe(status);
      expect(response.headers.get("content-range"), range).toBe(contentRange);
      expect(await response.text(), range).toBe(body);
    }
    for (const range of ["bytes=10-", "bytes=10-20", "bytes=-0"]) {
      const response = await get(range);
      expect(response.status, range).toBe(416);
      expect(response.headers.get("content-range"), range).toBe("bytes */10");
      await response.arrayBuffer();
    }
    // A malformed header is ignored: the whole object, 200.
    const ignored = await get("items=1-2");
    expect(ignored.status).toBe(200);
    expect(await ignored.text()).toBe("0123456789");
  });

  it("answers 404 in the documented error shape, for a missing object and a stale generation", async () => {
    const missing = await fetch(`${api}/b/media-bucket/o/nope.txt`);
    await expectErrorBody(missing, 404, "notFound");
    const created = await resourceOf(await put("gen.txt", "a"));
    await put("gen.txt", "b");
    await expectErrorBody(
      await fetch(`${api}/b/media-bucket/o/gen.txt?alt=media&generation=${created.generation}`),
      404,
    );
  });

  it("serves the STORAGE_EMULATOR_HOST form of the paths (no /storage/v1 prefix)", async () => {
    await put("emulator-style.txt", "same object");
    const meta = await fetch(`${server.url}/b/media-bucket/o/emulator-style.txt`);
    expect(await meta.json()).toMatchObject({ name: "emulator-style.txt", size: "11" });
    expect(
      await (await fetch(`${server.url}/b/media-bucket/o/emulator-style.txt?alt=media`)).text(),
    ).toBe("same object");
  });
});

describe("objects.list", () => {
  beforeAll(async () => {
    for (const name of [
      "l/a.txt",
      "l/b/1.txt",
      "l/b/2.txt",
      "l/c/x/y.txt",
      "l/d.txt",
      "l/é.txt",
      "l/z.txt",
    ]) {
      await put(name, name);
    }
  });
  const list = async (query: string) =>
    (await (await fetch(`${api}/b/media-bucket/o?${query}`)).json()) as {
      kind: string;
      items?: { name: string; size: string }[];
      prefixes?: string[];
      nextPageToken?: string;
    };

  it("lists by prefix in name order, with sizes", async () => {
    const page = await list("prefix=l/");
    expect(page.kind).toBe("storage#objects");
    expect(page.items?.map((i) => i.name)).toEqual([
      "l/a.txt",
      "l/b/1.txt",
      "l/b/2.txt",
      "l/c/x/y.txt",
      "l/d.txt",
      "l/z.txt",
      "l/é.txt",
    ]);
    expect(page.items?.[0]?.size).toBe("7");
    expect(page.prefixes).toBeUndefined();
    expect(page.nextPageToken).toBeUndefined();
  });

  it("collapses names under a delimiter into prefixes", async () => {
    const page = await list("prefix=l/&delimiter=/");
    expect(page.items?.map((i) => i.name)).toEqual(["l/a.txt", "l/d.txt", "l/z.txt", "l/é.txt"]);
    expect(page.prefixes).toEqual(["l/b/", "l/c/"]);
  });

  it("pages with maxResults and pageToken; items and prefixes both count", async () => {
    const seenItems: string[] = [];
    const seenPrefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await list(
        `prefix=l/&delimiter=/&maxResults=2${token ? `&pageToken=${token}` : ""}`,
      );
      expect((page.items?.length ?? 0) + (page.prefixes?.length ?? 0)).toBeLessThanOrEqual(2);
      seenItems.push(...(page.items ?? []).map((i) => i.name));
      seenPrefixes.push(...(page.prefixes ?? []));
      token = page.nextPageToken;
      pages += 1;
    } while (token);
    expect(pages).toBe(3);
    expect(seenItems).toEqual(["l/a.txt", "l/d.txt", "l/z.txt", "l/é.txt"]);
    expect(seenPrefixes).toEqual(["l/b/", "l/c/"]);
  });

  it("omits items when nothing matches, and rejects a bad page token or maxResults", async () => {
    expect(await list("prefix=nothing-here/")).toEqual({ kind: "storage#objects" });
    await expectErrorBody(await fetch(`${api}/b/media-bucket/o?pageToken=%%%`), 400);
    await expectErrorBody(await fetch(`${api}/b/media-bucket/o?maxResults=0`), 400);
    await expectErrorBody(await fetch(`${api}/b/no-such-bucket/o`), 404);
  });
});

describe("objects.delete", () => {
  it("answers 204, then 404 once gone; honours ifGenerationMatch", async () => {
    const created = await resourceOf(await put("del.txt", "x"));
    await expectErrorBody(
      await fetch(`${api}/b/media-bucket/o/del.txt?ifGenerationMatch=1`, { method: "DELETE" }),
      412,
    );
    const deleted = await fetch(
      `${api}/b/media-bucket/o/del.txt?ifGenerationMatch=${created.generation}`,
      {
        method: "DELETE",
      },
    );
    expect(deleted.status).toBe(204);
    await expectErrorBody(
      await fetch(`${api}/b/media-bucket/o/del.txt`, { method: "DELETE" }),
      404,
    );
    expect(server.objects()).not.toContain("media-bucket/del.txt");
  });
});

describe("objects.patch", () => {
  const patch = (name: string, query: string, body: unknown) =>
    fetch(`${api}/b/media-bucket/o/${encodeURIComponent(name)}${query}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("merges metadata key by key (null removes one), keeps the generation, bumps the metageneration", async () => {
    const { body, contentType } = multipartBody(
      { name: "p/x.txt", contentType: "text/plain", metadata: { a: "1", b: "2" } },
      Buffer.from("hello"),
    );
    const created = await resourceOf(
      await fetch(`${upload}/b/media-bucket/o?uploadType=multipart`, {
        method: "POST",
        headers: { "content-type": contentType },
        body,
      }),
    );
    const patched = await patch("p/x.txt", `?ifGenerationMatch=${created.generation}`, {
      metadata: { b: null, c: "3" },
    });
    expect(patched.status).toBe(200);
    const resource = (await patched.json()) as ObjectResource & {
      metageneration: string;
      metadata: Record<string, string>;
      contentType: string;
      size: string;
    };
    expect(resource).toMatchObject({
      generation: created.generation,
      metageneration: "2",
      metadata: { a: "1", c: "3" },
      contentType: "text/plain",
      size: "5",
      md5Hash: created.md5Hash,
    });
    expect(resource.metadata).not.toHaveProperty("b");
    expect(resource.etag).not.toBe(created.etag);
    const read = await fetch(`${api}/b/media-bucket/o/${encodeURIComponent("p/x.txt")}`);
    expect(await read.json()).toMatchObject({ metadata: { a: "1", c: "3" } });
  });

  it("answers 412 when a generation precondition fails, 404 for a missing object, 400 for bad values", async () => {
    await put("p/y.txt", "y");
    await expectErrorBody(await patch("p/y.txt", "?ifGenerationMatch=1", { metadata: {} }), 412);
    await expectErrorBody(await patch("p/missing.txt", "", { metadata: {} }), 404);
    await expectErrorBody(await patch("p/y.txt", "", { metadata: { a: 1 } }), 400);
    await expectErrorBody(await patch("p/y.txt", "", { contentType: 5 }), 400);
  });
});

describe("fault injection", () => {
  it("answers the next matching request with the injected status and the documented body", async () => {
    await put("faulty.txt", "x");
    server.injectFault({ method: "GET", url: "/o/faulty.txt", status: 403, message: "denied" });
    const denied = await fetch(`${api}/b/media-bucket/o/faulty.txt`);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({
      error: {
        code: 403,
        message: "denied",
        errors: [{ message: "denied", domain: "global", reason: "forbidden" }],
      },
    });
    expect((await fetch(`${api}/b/media-bucket/o/faulty.txt`)).status).toBe(200);
  });
});
