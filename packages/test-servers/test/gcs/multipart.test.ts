import { describe, expect, it } from "vitest";
import { multipartBoundary, parseMultipart } from "../../src/gcs/multipart.ts";

async function* piecesOf(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function parse(body: Buffer, boundary: string, pieceSize: number) {
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  for await (const event of parseMultipart(piecesOf(body, pieceSize), boundary)) {
    const current = parts.at(-1);
    if (event.type === "part") parts.push({ headers: event.headers, body: Buffer.alloc(0) });
    else if (current) current.body = Buffer.concat([current.body, event.chunk]);
  }
  return parts;
}

// RFC 2046 §5.1.1: delimiters are CRLF "--" boundary; the body may start with a preamble and
// end with an epilogue; the closing delimiter has "--" appended.
const body = Buffer.concat([
  Buffer.from(
    "preamble to ignore\r\n--xyz\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n",
  ),
  Buffer.from('{"name":"a","metadata":{"k":"日本語"}}'),
  Buffer.from("\r\n--xyz  \r\ncontent-type: image/png\r\n\r\n"),
  Buffer.from("\r\n--xy not a delimiter, nor --xyz without CRLF\u0000\u00ff"),
  Buffer.from("\r\n--xyz--\r\nepilogue to ignore"),
]);

describe("multipart/related parsing", () => {
  it("splits parts and keeps bytes that only resemble a delimiter, whatever the chunking", async () => {
    for (const size of [1, 2, 5, 7, 64, body.length]) {
      const parts = await parse(body, "xyz", size);
      expect(parts.map((p) => p.headers)).toEqual([
        { "content-type": "application/json; charset=UTF-8" },
        { "content-type": "image/png" },
      ]);
      expect(parts[0]?.body.toString("utf8")).toBe('{"name":"a","metadata":{"k":"日本語"}}');
      expect(parts[1]?.body).toEqual(
        Buffer.from("\r\n--xy not a delimiter, nor --xyz without CRLF\u0000\u00ff"),
      );
    }
  });

  it("rejects a body that stops before the closing delimiter", async () => {
    const cut = body.subarray(0, body.indexOf("\r\n--xyz--"));
    await expect(parse(cut, "xyz", 16)).rejects.toMatchObject({ status: 400 });
  });

  it("reads the boundary parameter, quoted or not", () => {
    expect(multipartBoundary("multipart/related; boundary=abc")).toBe("abc");
    expect(multipartBoundary('multipart/related; type="x"; boundary="a b:c"')).toBe("a b:c");
    expect(() => multipartBoundary("application/json")).toThrow(/multipart\/related/);
  });
});
