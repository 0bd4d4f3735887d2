/**
 * The gateway end to end: a real gateway process (src/main.ts) on a real backend, driven over
 * HTTP with real multipart clients (Node's fetch/FormData, and a hand-streamed body where a
 * test must control every byte). The whole suite runs once per backend in ./backends.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import {
  BackendSession,
  PUBLIC_BASE_URL,
  ROTATED_TOKEN,
  TOKEN,
} from "./support/backend-session.ts";
import { openUpload, send, postForm, type Answer } from "./support/http.ts";
import { closing, multipart, partHead, type Part } from "./support/multipart.ts";

const MAX_FILE_SIZE = 4 * 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

const fields = (overrides: Record<string, string | undefined> = {}): Part[] =>
  Object.entries({
    op: "upload",
    auth: TOKEN,
    uid: "42",
    mid: "1001",
    source: "message",
    ...overrides,
  })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ({ name, value }));

const file = (
  body: Buffer | string | Readable,
  filename = "photo.jpg",
  type = "image/jpeg",
): Part => ({
  name: "file",
  filename,
  type,
  body,
});

const errorCode = (answer: Answer) =>
  (answer.json as { error?: { code?: string } } | undefined)?.error?.code;

function expectError(answer: Answer, status: number, code: string) {
  expect({ status: answer.status, code: errorCode(answer) }).toEqual({ status, code });
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(answer.json).toMatchObject({
    result: false,
    error: { code, message: expect.any(String) },
  });
}

/** Text fields encoded as multipart parts, for bodies written by hand. */
function encodeParts(boundary: string, parts: Part[]): Buffer {
  return Buffer.concat(
    parts.map((part) =>
      Buffer.concat([
        partHead(boundary, part),
        Buffer.from(`${"value" in part ? part.value : ""}\r\n`),
      ]),
    ),
  );
}

for (const fixture of backends) {
  describe(`gateway end to end on ${fixture.name}`, () => {
    const session = new BackendSession(fixture);
    const upload = (parts: Part[], path = "/upload") =>
      postForm(`${session.gateway.url}${path}`, parts);

    /** Uploads `bytes` and returns the answer's URL, failing the test on anything but 200. */
    async function stored(
      bytes: Buffer,
      filename = "photo.jpg",
      type = "image/jpeg",
    ): Promise<string> {
      const answer = await upload([...fields(), file(bytes, filename, type)]);
      expect(answer.status, answer.text).toBe(200);
      return (answer.json as { url: string }).url;
    }

    beforeAll(async () => {
      // No ALLOWED_TYPES here: this suite stores test bytes under any declared type; the
      // magic-byte policy has its own suite (auth-and-types.test.ts).
      await session.start({ MAX_FILE_SIZE: String(MAX_FILE_SIZE) });
    });
    afterAll(() => session.stop());

    describe("uploads", () => {
      it("stores a file posted at /upload with Node's FormData and answers mesibo's JSON", async () => {
        const bytes = randomBytes(300_000);
        const form = new FormData();
        for (const part of fields()) if ("value" in part) form.append(part.name, part.value);
        form.append("file", new Blob([bytes], { type: "image/jpeg" }), "holiday.jpg");
        const res = await fetch(`${session.gateway.url}/upload`, { method: "POST", body: form });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toMatch(/^application\/json/);
        const body = (await res.json()) as { result: boolean; url: string };
        expect(body.result).toBe(true);
        expect(body.url).toMatch(
          new RegExp(
            `^${PUBLIC_BASE_URL}/files/[0-9a-f]{2}/\\d{4}/\\d{2}/\\d{2}/[0-9a-f]{40}\\.jpg$`,
          ),
        );
        const download = await send(session.local(body.url));
        expect(download.status).toBe(200);
        expect(sha256(download.body)).toBe(sha256(bytes));
        expect((await session.inventory()).objects).toContain(session.keyOf(body.url));
      });

      it("accepts the same form at / (the URL given to setUploadUrl)", async () => {
        const answer = await upload([...fields(), file("root")], "/");
        expect(answer.status).toBe(200);
        expect(answer.json).toMatchObject({ result: true });
      });

      it("keeps uid, mid, source and the original file name as object metadata", async () => {
        const url = await stored(Buffer.from("metadata"), "Résumé 2026.pdf", "application/pdf");
        const info = await session.adapter.stat(session.keyOf(url));
        expect(info.metadata).toMatchObject({
          uid: "42",
          mid: "1001",
          source: "message",
          filename: "Résumé 2026.pdf",
        });
        expect(info.contentType).toBe("application/pdf");
        expect(info.size).toBe(8);
      });

      it("stores a streamed upload's size and sha256 as metadata, as for a spooled one", async () => {
        // Fields first: the file streams straight into storage, so its size and checksum are
        // only known at its end. 1.5 MiB spans several blocks on Azure (1 MiB buffers).
        const bytes = randomBytes(1536 * 1024);
        const url = await stored(bytes, "streamed.mp4", "video/mp4");
        const info = await session.adapter.stat(session.keyOf(url));
        expect(info.metadata).toEqual({
          uid: "42",
          mid: "1001",
          source: "message",
          filename: "streamed.mp4",
          size: String(bytes.length),
          sha256: sha256(bytes),
        });
        const ranged = await session.adapter.read(session.keyOf(url), {
          range: { start: 0, end: 0 },
        });
        ranged.body.destroy();
        expect(ranged.info.metadata).toEqual(info.metadata);
      });

      it("gives every upload its own unguessable key, even for identical uploads", async () => {
        const urls = await Promise.all([stored(Buffer.from("same")), stored(Buffer.from("same"))]);
        expect(new Set(urls).size).toBe(2);
        for (const url of urls) expect(session.keyOf(url)).toMatch(/\/[0-9a-f]{40}\.jpg$/);
      });

      it("accepts every configured token (rotation)", async () => {
        const answer = await upload([...fields({ auth: ROTATED_TOKEN }), file("rotated")]);
        expect(answer.status).toBe(200);
      });

      it("accepts the file under any field name and an empty file", async () => {
        const answer = await upload([
          ...fields(),
          { name: "mesibo_file_v2", filename: "empty.txt", type: "text/plain", body: "" },
        ]);
        expect(answer.status).toBe(200);
        const url = (answer.json as { url: string }).url;
        const download = await send(session.local(url));
        expect({ status: download.status, length: download.body.length }).toEqual({
          status: 200,
          length: 0,
        });
      });

      it("stores a file that arrives before its fields, with size and sha256 metadata", async () => {
        const bytes = randomBytes(200_000);
        const answer = await upload([file(bytes, "early.png", "image/png"), ...fields()]);
        expect(answer.status, answer.text).toBe(200);
        const url = (answer.json as { url: string }).url;
        expect(sha256((await send(session.local(url))).body)).toBe(sha256(bytes));
        const info = await session.adapter.stat(session.keyOf(url));
        expect(info.metadata).toMatchObject({
          uid: "42",
          mid: "1001",
          source: "message",
          filename: "early.png",
          size: String(bytes.length),
          sha256: sha256(bytes),
        });
        expect(await session.spoolFiles()).toEqual([]);
      });

      it("lets no byte of a file that precedes its token reach storage", async () => {
        const before = await session.inventory();
        const form = multipart([]);
        const { req, answer } = openUpload(session.gateway.url, form.boundary);
        req.write(partHead(form.boundary, file("")));
        req.write(randomBytes(100_000));
        // The file is in flight and no token has been seen: storage must not have moved.
        await expect.poll(() => session.spoolFiles().then((f) => f.length > 0)).toBe(true);
        expect(await session.inventory()).toEqual(before);
        req.write("\r\n");
        req.write(encodeParts(form.boundary, fields()));
        req.end(closing(form.boundary));
        const result = await answer;
        expect(result).toMatchObject({ status: 200 });
        await expect.poll(() => session.spoolFiles()).toEqual([]);
      });

      it("refuses a file that preceded a wrong token without storing it", async () => {
        const before = await session.inventory();
        const answer = await upload([
          file(randomBytes(50_000)),
          ...fields({ auth: "not-the-token-at-all" }),
        ]);
        expectError(answer, 401, "UNAUTHORIZED");
        await session.expectUntouched(before);
      });

      it("stores Content-Disposition: attachment on types a browser would run, not on media", async () => {
        // What a public bucket or CDN answers with in DOWNLOAD_MODE=direct.
        for (const fileFirst of [false, true]) {
          const parts = (name: string, type: string, body: string) =>
            fileFirst
              ? [file(body, name, type), ...fields()]
              : [...fields(), file(body, name, type)];
          for (const [name, type] of [
            ["page.html", "text/html"],
            ["logo.svg", "image/svg+xml"],
          ] as const) {
            const answer = await upload(parts(name, type, "<script>alert(1)</script>"));
            expect(answer.status, answer.text).toBe(200);
            const key = session.keyOf((answer.json as { url: string }).url);
            const info = await session.adapter.stat(key);
            expect({
              fileFirst,
              type: info.contentType,
              disposition: info.contentDisposition,
            }).toEqual({
              fileFirst,
              type,
              disposition: `attachment; filename="${name}"; filename*=UTF-8''${name}`,
            });
          }
          const image = await upload(parts("photo.jpg", "image/jpeg", "jpeg bytes"));
          expect(image.status, image.text).toBe(200);
          const info = await session.adapter.stat(
            session.keyOf((image.json as { url: string }).url),
          );
          expect(info.contentType).toBe("image/jpeg");
          expect(info.contentDisposition ?? "").not.toMatch(/attachment/);
        }
      });

      it("handles 50 concurrent uploads", async () => {
        const bodies = Array.from({ length: 50 }, (_, i) => randomBytes(20_000 + i * 997));
        const answers = await Promise.all(
          bodies.map((bytes, i) =>
            upload(i % 5 === 0 ? [file(bytes), ...fields()] : [...fields(), file(bytes)]),
          ),
        );
        expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200));
        const downloads = await Promise.all(
          answers.map((a) => send(session.local((a.json as { url: string }).url))),
        );
        expect(downloads.map((d) => sha256(d.body))).toEqual(bodies.map(sha256));
      });
    });

    describe("refusals leave storage untouched", () => {
      const refusals: [string, () => Promise<Answer>, number, string][] = [
        [
          "a wrong token",
          () => upload([...fields({ auth: "wrong-token-wrong-token" }), file("x")]),
          401,
          "UNAUTHORIZED",
        ],
        [
          "a missing token",
          () => upload([...fields({ auth: undefined }), file("x")]),
          401,
          "UNAUTHORIZED",
        ],
        [
          "a token sent twice",
          () => upload([...fields(), { name: "auth", value: TOKEN }, file("x")]),
          401,
          "UNAUTHORIZED",
        ],
        [
          "an unknown op",
          () => upload([...fields({ op: "delete" }), file("x")]),
          400,
          "UNKNOWN_OP",
        ],
        [
          "a missing op",
          () => upload([...fields({ op: undefined }), file("x")]),
          400,
          "UNKNOWN_OP",
        ],
        [
          "a non-numeric uid",
          () => upload([...fields({ uid: "alice" }), file("x")]),
          400,
          "INVALID_UID",
        ],
        ["an empty uid", () => upload([...fields({ uid: "" }), file("x")]), 400, "INVALID_UID"],
        [
          "an over-long mid",
          () => upload([...fields({ mid: "1".repeat(21) }), file("x")]),
          400,
          "INVALID_MID",
        ],
        [
          "a source with a path in it",
          () => upload([...fields({ source: "../etc" }), file("x")]),
          400,
          "INVALID_SOURCE",
        ],
        [
          "a uid sent twice after the file",
          () => upload([...fields(), file("x"), { name: "uid", value: "7" }]),
          400,
          "INVALID_UID",
        ],
        [
          "an invalid uid after the file",
          () => upload([file("x"), ...fields({ uid: "x1" })]),
          400,
          "INVALID_UID",
        ],
        ["no file", () => upload(fields()), 400, "MISSING_FILE"],
        [
          "two files",
          () =>
            upload([...fields(), file(randomBytes(10_000)), file(randomBytes(10_000), "b.jpg")]),
          400,
          "TOO_MANY_FILES",
        ],
        [
          "two files before the fields",
          () => upload([file("a"), file("b"), ...fields()]),
          400,
          "TOO_MANY_FILES",
        ],
        [
          "a file over MAX_FILE_SIZE",
          () => upload([...fields(), file(randomBytes(MAX_FILE_SIZE + 1))]),
          413,
          "FILE_TOO_LARGE",
        ],
        [
          "a file over MAX_FILE_SIZE before the fields",
          () => upload([file(randomBytes(MAX_FILE_SIZE + 1)), ...fields()]),
          413,
          "FILE_TOO_LARGE",
        ],
        [
          "too many fields",
          () =>
            upload([
              ...fields(),
              ...Array.from({ length: 20 }, (_, i) => ({ name: `x${i}`, value: "1" })),
              file("x"),
            ]),
          400,
          "TOO_MANY_FIELDS",
        ],
        [
          "too many parts",
          () => {
            // Fields and files hit their own limits first; parts that are neither (no
            // form-data disposition) are what only the part limit stops.
            const form = multipart([]);
            const junk = Buffer.from(`--${form.boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n`);
            const body = Buffer.concat([
              ...Array.from({ length: 20 }, () => junk),
              encodeParts(form.boundary, fields()),
              partHead(form.boundary, file("")),
              Buffer.from("x\r\n"),
              closing(form.boundary),
            ]);
            return send(`${session.gateway.url}/upload`, {
              method: "POST",
              headers: { "Content-Type": form.contentType },
              body,
            });
          },
          400,
          "TOO_MANY_PARTS",
        ],
        [
          "an over-long field",
          () => upload([...fields(), { name: "note", value: "n".repeat(5000) }, file("x")]),
          400,
          "FIELD_TOO_LARGE",
        ],
        [
          "a JSON body",
          () =>
            send(`${session.gateway.url}/upload`, {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: '{"op":"upload"}',
            }),
          400,
          "NOT_MULTIPART",
        ],
        [
          "a urlencoded form",
          () =>
            send(`${session.gateway.url}/upload`, {
              method: "POST",
              headers: { "Content-Type": "application/x-www-form-urlencoded" },
              body: `op=upload&auth=${TOKEN}`,
            }),
          400,
          "NOT_MULTIPART",
        ],
        [
          "no body at all",
          () => send(`${session.gateway.url}/`, { method: "POST" }),
          400,
          "NOT_MULTIPART",
        ],
        [
          "multipart without a boundary",
          () =>
            send(`${session.gateway.url}/upload`, {
              method: "POST",
              headers: { "Content-Type": "multipart/form-data" },
              body: "x",
            }),
          400,
          "MALFORMED_MULTIPART",
        ],
        [
          "a body cut off mid-file",
          () => {
            const form = multipart([]);
            const body = Buffer.concat([
              encodeParts(form.boundary, fields()),
              partHead(form.boundary, file("")),
              randomBytes(30_000),
            ]);
            return send(`${session.gateway.url}/upload`, {
              method: "POST",
              headers: { "Content-Type": form.contentType },
              body,
            });
          },
          400,
          "MALFORMED_MULTIPART",
        ],
        [
          "a declared length over the limit",
          () =>
            send(`${session.gateway.url}/upload`, {
              method: "POST",
              headers: {
                "Content-Type": "multipart/form-data; boundary=x",
                "Content-Length": String(MAX_FILE_SIZE * 2),
              },
              body: Readable.from([Buffer.alloc(1000)]),
            }),
          413,
          "FILE_TOO_LARGE",
        ],
      ];

      for (const [name, attempt, status, code] of refusals) {
        it(`answers ${status} ${code} to ${name}`, async () => {
          const before = await session.inventory();
          expectError(await attempt(), status, code);
          await session.expectUntouched(before);
        });
      }

      it("aborts the write and leaves nothing when the client disconnects mid-upload", async () => {
        const before = await session.inventory();
        const form = multipart([]);
        const { req, answer } = openUpload(session.gateway.url, form.boundary);
        req.write(encodeParts(form.boundary, fields()));
        req.write(partHead(form.boundary, file("")));
        await new Promise((resolve) => req.write(randomBytes(3_000_000), resolve));
        // Where the backend shows a write in progress (fs: a temp file), wait to see it; some
        // backends buffer the first part in memory and show nothing, which is fine too.
        await expect
          .poll(async () => (await session.inventory()).leftovers.length, { timeout: 2000 })
          .toBeGreaterThan(0)
          .catch(() => undefined);
        req.destroy();
        expect(await answer).toBeInstanceOf(Error);
        await session.expectUntouched(before);
      });

      it("leaves nothing when the client disconnects before a spooled file is stored", async () => {
        const before = await session.inventory();
        const form = multipart([]);
        const { req, answer } = openUpload(session.gateway.url, form.boundary);
        req.write(partHead(form.boundary, file("")));
        req.write(randomBytes(500_000));
        await expect.poll(() => session.spoolFiles().then((f) => f.length > 0)).toBe(true);
        req.destroy();
        expect(await answer).toBeInstanceOf(Error);
        await session.expectUntouched(before);
      });

      it("removes the object when the answer cannot be delivered", async () => {
        const before = await session.inventory();
        const form = multipart([...fields(), file(randomBytes(200_000))]);
        const chunks: Buffer[] = [];
        for await (const chunk of form.stream) chunks.push(chunk as Buffer);
        const { req, answer } = openUpload(session.gateway.url, form.boundary);
        // Everything is sent; the client hangs up before the answer can arrive.
        req.write(Buffer.concat(chunks), () => req.destroy());
        expect(await answer).toBeInstanceOf(Error);
        await session.expectUntouched(before);
      });
    });

    describe("downloads", () => {
      const bytes = randomBytes(10_000);
      let url = "";
      let etag = "";

      beforeAll(async () => {
        url = session.local(await stored(bytes, "clip 🎬.mp4", "video/mp4"));
        etag = String((await send(url, { method: "HEAD" })).headers.etag);
      });

      it("serves the bytes with the stored type and every header rule", async () => {
        const res = await send(url);
        expect(res.status).toBe(200);
        expect(res.body.equals(bytes)).toBe(true);
        expect(res.headers).toMatchObject({
          "content-type": "video/mp4",
          "content-length": String(bytes.length),
          "cache-control": "public, max-age=31536000, immutable",
          "x-content-type-options": "nosniff",
          "accept-ranges": "bytes",
        });
        expect(res.headers["content-security-policy"]).toMatch(/(^|;\s*)sandbox(;|$)/);
        expect(res.headers["content-security-policy"]).toMatch(/default-src 'none'/);
        expect(res.headers["content-disposition"]).toBe(
          `inline; filename="clip _.mp4"; filename*=UTF-8''clip%20%F0%9F%8E%AC.mp4`,
        );
        expect(res.headers.etag).toMatch(/^"[^"]+"$/);
        expect(new Date(String(res.headers["last-modified"])).getTime()).not.toBeNaN();
      });

      it("answers HEAD with the same headers and no body", async () => {
        const res = await send(url, { method: "HEAD" });
        expect(res.status).toBe(200);
        expect(res.body.length).toBe(0);
        expect(res.headers["content-length"]).toBe(String(bytes.length));
        expect(res.headers["content-type"]).toBe("video/mp4");
        expect(res.headers.etag).toBe(etag);
      });

      const ranges: [string, number, number][] = [
        ["bytes=0-0", 0, 0],
        ["bytes=0-99", 0, 99],
        ["bytes=5000-5009", 5000, 5009],
        ["bytes=9999-", 9999, 9999],
        ["bytes=9000-", 9000, 9999],
        ["bytes=-1", 9999, 9999],
        ["bytes=-500", 9500, 9999],
        ["bytes=-20000", 0, 9999],
        ["bytes=9990-20000", 9990, 9999],
      ];
      for (const [header, start, end] of ranges) {
        it(`answers ${header} with 206 and exactly those bytes (GET and HEAD)`, async () => {
          const res = await send(url, { headers: { Range: header } });
          expect(res.status).toBe(206);
          expect(res.headers["content-range"]).toBe(`bytes ${start}-${end}/${bytes.length}`);
          expect(res.headers["content-length"]).toBe(String(end - start + 1));
          expect(res.body.equals(bytes.subarray(start, end + 1))).toBe(true);
          const head = await send(url, { method: "HEAD", headers: { Range: header } });
          expect(head.status).toBe(206);
          expect(head.headers["content-range"]).toBe(`bytes ${start}-${end}/${bytes.length}`);
        });
      }

      for (const header of ["bytes=10000-", "bytes=20000-30000", "bytes=-0"]) {
        it(`answers ${header} with 416 and the size (GET and HEAD)`, async () => {
          for (const method of ["GET", "HEAD"]) {
            const res = await send(url, { method, headers: { Range: header } });
            expect(res.status).toBe(416);
            expect(res.headers["content-range"]).toBe(`bytes */${bytes.length}`);
          }
          expectError(
            await send(url, { headers: { Range: header } }),
            416,
            "RANGE_NOT_SATISFIABLE",
          );
        });
      }

      it("ignores multiple, malformed and non-byte ranges and sends everything", async () => {
        for (const header of ["bytes=0-1,5-6", "bytes=5-1", "items=0-1", "bytes=abc"]) {
          const res = await send(url, { headers: { Range: header } });
          expect({ header, status: res.status, length: res.body.length }).toEqual({
            header,
            status: 200,
            length: bytes.length,
          });
        }
      });

      it("answers a matching If-None-Match with 304 and no body, a stale one with 200", async () => {
        const fresh = await send(url, { headers: { "If-None-Match": etag } });
        expect(fresh.status).toBe(304);
        expect(fresh.body.length).toBe(0);
        expect(fresh.headers.etag).toBe(etag);
        expect(fresh.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
        expect(
          (await send(url, { headers: { "If-None-Match": `"other", W/${etag}` } })).status,
        ).toBe(304);
        expect((await send(url, { headers: { "If-None-Match": "*" } })).status).toBe(304);
        expect(
          (await send(url, { method: "HEAD", headers: { "If-None-Match": etag } })).status,
        ).toBe(304);
        expect((await send(url, { headers: { "If-None-Match": '"something-else"' } })).status).toBe(
          200,
        );
      });

      it("answers If-Modified-Since with 304 unless the file is newer, and lets If-None-Match win", async () => {
        const lastModified = String((await send(url, { method: "HEAD" })).headers["last-modified"]);
        const shifted = (seconds: number) =>
          new Date(Date.parse(lastModified) + seconds * 1000).toUTCString();
        for (const method of ["GET", "HEAD"]) {
          for (const since of [lastModified, shifted(3600)]) {
            const res = await send(url, { method, headers: { "If-Modified-Since": since } });
            expect({ method, since, status: res.status, length: res.body.length }).toEqual({
              method,
              since,
              status: 304,
              length: 0,
            });
            expect(res.headers.etag).toBe(etag);
            expect(res.headers["last-modified"]).toBe(lastModified);
            expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
          }
        }
        const older = await send(url, { headers: { "If-Modified-Since": shifted(-3600) } });
        expect({ status: older.status, same: older.body.equals(bytes) }).toEqual({
          status: 200,
          same: true,
        });
        const unparseable = await send(url, { headers: { "If-Modified-Since": "yesterday" } });
        expect(unparseable.status).toBe(200);
        // RFC 9110 §13.1.3: with If-None-Match present, If-Modified-Since is ignored.
        const mismatch = await send(url, {
          headers: { "If-None-Match": '"something-else"', "If-Modified-Since": lastModified },
        });
        expect(mismatch.status).toBe(200);
      });

      it("honours If-Range: a current validator gets the range, a stale one the whole file", async () => {
        const current = await send(url, { headers: { Range: "bytes=0-9", "If-Range": etag } });
        expect(current.status).toBe(206);
        const stale = await send(url, { headers: { Range: "bytes=0-9", "If-Range": '"stale"' } });
        expect({ status: stale.status, length: stale.body.length }).toEqual({
          status: 200,
          length: bytes.length,
        });
      });

      const dispositions: [string, string, string, string][] = [
        ["page.html", "text/html", "attachment", "text/html"],
        ["logo.svg", "image/svg+xml", "attachment", "image/svg+xml"],
        ["feed.xml", "application/xml", "attachment", "application/xml"],
        ["app.js", "text/javascript", "attachment", "text/javascript"],
        ["doc.pdf", "application/pdf", "attachment", "application/pdf"],
        ["blob", "application/octet-stream", "attachment", "application/octet-stream"],
        ["photo.jpg", "image/jpeg", "inline", "image/jpeg"],
        ["voice.ogg", "audio/ogg", "inline", "audio/ogg"],
        // busboy hands over type/subtype only, so a part's parameters are not kept.
        ["notes.txt", "text/plain; charset=utf-8", "inline", "text/plain"],
        // busboy reads an unparseable part type as text/plain, which nosniff keeps inert.
        ["weird", "not a type", "inline", "text/plain"],
      ];
      for (const [name, type, disposition, served] of dispositions) {
        it(`serves ${type} as ${disposition}`, async () => {
          const res = await send(
            session.local(await stored(Buffer.from("<script>alert(1)</script>"), name, type)),
          );
          expect(res.status).toBe(200);
          expect(res.headers["content-type"]).toBe(served);
          expect(res.headers["content-disposition"]).toBe(
            `${disposition}; filename="${name}"; filename*=UTF-8''${name}`,
          );
          expect(res.headers["x-content-type-options"]).toBe("nosniff");
          expect(res.headers["content-security-policy"]).toMatch(/sandbox/);
        });
      }

      it("answers 404 JSON for unknown keys and for every path trick", async () => {
        const base = session.gateway.url;
        const valid = new URL(url).pathname;
        const attempts = [
          valid.replace(/[0-9a-f]{40}/, "0".repeat(40)),
          "/files/2026/01/01/short",
          "/files/../../../../etc/passwd",
          "/files/%2e%2e/%2e%2e/etc/passwd",
          "/files/..%2F..%2F..%2Fetc%2Fpasswd",
          `${valid}/..`,
          valid.replace("/files/", "/files/./"),
          valid.replace("/files/", "/files//"),
          "/files/.mediagate/tmp/x",
          "/files/",
          "/files/%00",
        ];
        for (const path of attempts) {
          for (const method of ["GET", "HEAD"]) {
            const res = await send(base + path, { method });
            expect({ path, method, status: res.status }).toEqual({ path, method, status: 404 });
            if (method === "GET") expectError(res, 404, "NOT_FOUND");
          }
        }
      });
    });

    describe("everything else", () => {
      it("answers health and readiness", async () => {
        const health = await send(`${session.gateway.url}/healthz`);
        expect(health.status).toBe(200);
        expect(health.json).toMatchObject({ result: true });
        const ready = await send(`${session.gateway.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(ready.json).toMatchObject({ result: true });
      });

      it("answers unknown routes and methods with JSON, never Express's HTML page", async () => {
        for (const [method, path] of [
          ["GET", "/upload"],
          ["GET", "/nope"],
          ["PUT", "/upload"],
          ["DELETE", "/files/2026/01/01/x"],
          ["GET", "/%E0%A4%A"],
        ] as const) {
          const res = await send(session.gateway.url + path, { method });
          expect(res.headers["content-type"], `${method} ${path}`).toMatch(/^application\/json/);
          expect(res.text).not.toMatch(/<html|<pre/i);
          expect(res.json).toMatchObject({ result: false });
        }
      });

      it("answers malformed HTTP with JSON and keeps serving", async () => {
        const { connect } = await import("node:net");
        const { port } = new URL(session.gateway.url);
        const reply = await new Promise<string>((resolve, reject) => {
          const socket = connect(Number(port), "127.0.0.1", () => socket.write("BLAH /\r\n\r\n"));
          let text = "";
          socket.on("data", (d) => (text += d.toString()));
          socket.on("end", () => resolve(text));
          socket.on("error", reject);
        });
        expect(reply).toMatch(/^HTTP\/1\.1 400/);
        expect(reply).toContain('"result":false');
        expect((await send(`${session.gateway.url}/healthz`)).status).toBe(200);
      });

      it("logs JSON lines with request ids and never the token", async () => {
        const reqId = "test-request-id-123";
        await send(`${session.gateway.url}/healthz`, { headers: { "X-Request-Id": reqId } });
        await upload([...fields({ auth: "a-wrong-token-that-must-not-be-logged" }), file("x")]);
        await expect
          .poll(() =>
            session.gateway
              .logs()
              .some((l) => (l.req as { id?: string } | undefined)?.id === reqId),
          )
          .toBe(true);
        const output = session.gateway.stdout() + session.gateway.stderr();
        for (const secret of [TOKEN, ROTATED_TOKEN, "a-wrong-token-that-must-not-be-logged"]) {
          expect(output).not.toContain(secret);
        }
        // One completion line per request, each with its own id.
        const requests = session.gateway.logs().filter((l) => l.req && l.res);
        expect(requests.length).toBeGreaterThan(20);
        expect(new Set(requests.map((l) => (l.req as { id: string }).id)).size).toBe(
          requests.length,
        );
      });

      it("names the stored object on the upload's one log line", async () => {
        const reqId = "test-upload-log-line";
        const bytes = randomBytes(2048);
        const answer = await postForm(
          `${session.gateway.url}/upload`,
          [...fields(), file(bytes, "a.jpg", "image/jpeg")],
          { "X-Request-Id": reqId },
        );
        expect(answer.status, answer.text).toBe(200);
        const key = session.keyOf((answer.json as { url: string }).url);
        const mine = () =>
          session.gateway
            .logs()
            .filter((l) => (l.req as { id?: string } | undefined)?.id === reqId);
        await expect.poll(() => mine().length).toBe(1);
        expect(mine()[0]).toMatchObject({
          msg: "upload stored",
          res: { statusCode: 200 },
          upload: { key, size: bytes.length, sha256: sha256(bytes), via: "storage" },
        });
      });

      it("reports not ready (503) once the backend is unusable", async () => {
        await session.stopBackend();
        await expect
          .poll(async () => (await send(`${session.gateway.url}/readyz`)).status, {
            timeout: 15_000,
            interval: 200,
          })
          .toBe(503);
        expectError(await send(`${session.gateway.url}/readyz`), 503, "STORAGE_UNAVAILABLE");
        expect((await send(`${session.gateway.url}/healthz`)).status).toBe(200);
      });
    });
  });
}
