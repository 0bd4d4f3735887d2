import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startS3rver, type S3rverServer } from "../../src/s3/s3rver.ts";

/**
 * ListMultipartUploads, the abort/complete race and object tagging as the S3 API reference
 * describes them, asked with raw anonymous HTTP (s3rver takes it; signatures are the
 * recording proxy's business), so only the server decides the answers.
 */
const BUCKET = "uploads-bucket";
let server: S3rverServer;

beforeAll(async () => {
  server = await startS3rver({ buckets: [BUCKET] });
});
afterAll(async () => {
  await server?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request; `body` may be a function that writes (and ends) the body itself. */
function call(
  method: string,
  target: string,
  body?: string | ((write: (chunk: string) => void, end: () => void) => void),
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.endpoint}/${BUCKET}/${target}`, { method });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    if (typeof body === "function") {
      req.flushHeaders();
      body(
        (chunk) => req.write(chunk),
        () => req.end(),
      );
    } else req.end(body);
  });
}

const all = (text: string, tag: string) =>
  [...text.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((m) => m[1]);
const one = (text: string, tag: string) => all(text, tag)[0];

async function begin(key: string): Promise<string> {
  const answer = await call("POST", `${encodeURIComponent(key)}?uploads`);
  expect(answer.status).toBe(200);
  const id = one(answer.text, "UploadId");
  if (!id) throw new Error(`no UploadId in ${answer.text}`);
  return id;
}

async function abort(key: string, uploadId: string): Promise<number> {
  return (await call("DELETE", `${encodeURIComponent(key)}?uploadId=${uploadId}`)).status;
}

describe("ListMultipartUploads", () => {
  it("lists open uploads in key order with prefix, delimiter, pages and initiation times", async () => {
    const ids = {
      a1: await begin("list/a/1.bin"),
      a2: await begin("list/a/2.bin"),
      b: await begin("list/b.bin"),
      b2: await begin("list/b.bin"),
    };
    const listed = await call("GET", `?uploads&prefix=list/`);
    expect(listed.status).toBe(200);
    expect(all(listed.text, "Key")).toEqual([
      "list/a/1.bin",
      "list/a/2.bin",
      "list/b.bin",
      "list/b.bin",
    ]);
    expect(new Set(all(listed.text, "UploadId"))).toEqual(new Set(Object.values(ids)));
    for (const when of all(listed.text, "Initiated")) {
      expect(Math.abs(Date.parse(when ?? "") - Date.now())).toBeLessThan(60_000);
    }
    expect(one(listed.text, "IsTruncated")).toBe("false");

    const grouped = await call("GET", `?uploads&prefix=list/&delimiter=/`);
    expect(all(grouped.text, "Key")).toEqual(["list/b.bin", "list/b.bin"]);
    expect(grouped.text).toContain("<CommonPrefixes><Prefix>list/a/</Prefix></CommonPrefixes>");

    // One per page, following NextKeyMarker and NextUploadIdMarker, visits each once.
    const paged: string[] = [];
    let markers = "";
    for (let page = 0; page < 10; page++) {
      const answer = await call("GET", `?uploads&prefix=list/&max-uploads=1${markers}`);
      paged.push(...all(answer.text, "UploadId").filter((id) => id !== undefined));
      if (one(answer.text, "IsTruncated") !== "true") break;
      markers =
        `&key-marker=${encodeURIComponent(one(answer.text, "NextKeyMarker") ?? "")}` +
        `&upload-id-marker=${one(answer.text, "NextUploadIdMarker") ?? ""}`;
    }
    expect(paged.sort()).toEqual(Object.values(ids).sort());

    await server.backdateUpload(BUCKET, ids.b, 2 * 3600_000);
    const aged = await call("GET", `?uploads&prefix=list/b`);
    const initiated = all(aged.text, "Initiated").map((t) => Date.parse(t ?? ""));
    expect(Math.min(...initiated)).toBeLessThan(Date.now() - 3600_000);

    for (const [key, id] of [
      ["list/a/1.bin", ids.a1],
      ["list/a/2.bin", ids.a2],
      ["list/b.bin", ids.b],
      ["list/b.bin", ids.b2],
    ] as const) {
      expect(await abort(key, id)).toBe(204);
    }
    expect(all((await call("GET", `?uploads&prefix=list/`)).text, "Key")).toEqual([]);
  });

  it("aborts only after a completion in progress has finished, then answers NoSuchUpload", async () => {
    const key = "race/complete.bin";
    const id = await begin(key);
    const part = await call("PUT", `${key}?uploadId=${id}&partNumber=1`, "the only part");
    const etag = part.headers.etag as string;
    const seen = server.received();
    let abortRequest: Promise<Answer> | undefined;
    const completed = await call("POST", `${key}?uploadId=${id}`, (write, end) => {
      write("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>");
      // The completion has begun (its body is on its way) when the abort arrives.
      void vi
        .waitFor(() => expect(server.received()).toBeGreaterThan(seen), { interval: 5 })
        .then(() => {
          const before = server.received();
          abortRequest = call("DELETE", `${key}?uploadId=${id}`);
          return vi.waitFor(() => expect(server.received()).toBeGreaterThan(before), {
            interval: 5,
          });
        })
        .then(() => {
          write(`<ETag>${etag}</ETag></Part></CompleteMultipartUpload>`);
          end();
        });
    });
    expect(completed.status).toBe(200);
    const abortAnswer = await abortRequest;
    expect(abortAnswer?.status).toBe(404);
    expect(abortAnswer?.text).toContain("NoSuchUpload");
    expect((await call("GET", key)).text).toBe("the only part");
  });
});

describe("object tagging", () => {
  const tagging = (tags: [string, string][]) =>
    `<Tagging><TagSet>${tags.map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`).join("")}</TagSet></Tagging>`;

  it("refuses tags on a missing object, and tag sets S3 would refuse", async () => {
    expect((await call("PUT", "tags/missing?tagging", tagging([["a", "1"]]))).status).toBe(404);
    await call("PUT", "tags/limits", "x");
    const eleven = Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"] as [string, string]);
    const tooMany = await call("PUT", "tags/limits?tagging", tagging(eleven));
    expect([tooMany.status, one(tooMany.text, "Code")]).toEqual([400, "BadRequest"]);
    for (const bad of [
      [["k", "v".repeat(257)]],
      [["k".repeat(129), "v"]],
      [["k", "50%"]],
      [
        ["k", "a"],
        ["k", "b"],
      ],
    ] as [string, string][][]) {
      const answer = await call("PUT", "tags/limits?tagging", tagging(bad));
      expect([answer.status, one(answer.text, "Code")]).toEqual([400, "InvalidTag"]);
    }
  });

  it("keeps values exactly, counts them on GET and HEAD, and drops them with the object", async () => {
    await call("PUT", "tags/kept", "bytes");
    const values: [string, string][] = [
      ["size", "007"],
      ["note", "a b+c=d:e/f@g_h.i-j ü"],
    ];
    expect((await call("PUT", "tags/kept?tagging", tagging(values))).status).toBe(200);
    const read = await call("GET", "tags/kept?tagging");
    expect(all(read.text, "Key")).toEqual(["size", "note"]);
    expect(all(read.text, "Value")).toEqual(["007", "a b+c=d:e/f@g_h.i-j ü"]);
    expect((await call("HEAD", "tags/kept")).headers["x-amz-tagging-count"]).toBe("2");
    expect((await call("GET", "tags/kept")).headers["x-amz-tagging-count"]).toBe("2");

    const copied = await call("PUT", "tags/copy", undefined);
    expect(copied.status).toBe(200); // an empty object, replaced by the copy below
    const copy = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.endpoint}/${BUCKET}/tags/copy`, {
        method: "PUT",
        headers: { "x-amz-copy-source": `/${BUCKET}/tags/kept` },
      });
      req.on("response", (res) => resolve(res.resume().statusCode ?? 0)).on("error", reject);
      req.end();
    });
    expect(copy).toBe(200);
    expect(all((await call("GET", "tags/copy?tagging")).text, "Value")).toEqual([
      "007",
      values[1]?.[1],
    ]);

    // A new object under the key starts without tags, as does one after a delete.
    await call("PUT", "tags/kept", "new bytes");
    expect(all((await call("GET", "tags/kept?tagging")).text, "Key")).toEqual([]);
    expect((await call("HEAD", "tags/kept")).headers["x-amz-tagging-count"]).toBeUndefined();
    await call("PUT", "tags/copy?tagging", tagging([["a", "1"]]));
    expect((await call("DELETE", "tags/copy")).status).toBe(204);
    await call("PUT", "tags/copy", "again");
    expect(all((await call("GET", "tags/copy?tagging")).text, "Key")).toEqual([]);
    expect((await call("DELETE", "tags/kept?tagging")).status).toBe(204);
  });
});
