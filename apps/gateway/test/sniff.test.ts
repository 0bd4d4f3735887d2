/**
 * The content-type rules and the stream peek on their own: the gateway-level behaviour is in
 * auth-and-types.test.ts; these pin the edge cases cheaply.
 */
import { randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { HttpError } from "../src/http/errors.ts";
import { decideContentType, peekStream, SNIFF_BYTES } from "../src/upload/sniff.ts";

const JPEG = Buffer.from("ffd8ffe000104a46494600010100000100010000", "hex");
const POLICY = ["image/*", "text/plain"];

describe("decideContentType", () => {
  it.each([
    ["a JPEG declared as PNG is stored as JPEG", JPEG, "image/png", POLICY, "image/jpeg"],
    ["a JPEG with no policy is still stored as JPEG", JPEG, "text/html", undefined, "image/jpeg"],
    [
      "unrecognised bytes keep the declared type with no policy",
      Buffer.from("<p>"),
      "image/png",
      undefined,
      "image/png",
    ],
    [
      "plain text keeps its charset",
      Buffer.from("hi"),
      "text/plain; charset=UTF-8",
      POLICY,
      "text/plain; charset=utf-8",
    ],
  ])("%s", async (_name, head, declared, policy, expected) => {
    expect(await decideContentType(head, declared, policy)).toMatchObject({
      contentType: expected,
    });
  });

  it.each([
    ["an executable", Buffer.concat([Buffer.from("MZ"), Buffer.alloc(100)]), "image/png"],
    ["unrecognised bytes declared as an image", Buffer.from("<svg/>"), "image/svg+xml"],
    [
      "unrecognised bytes declared as a recognisable format",
      Buffer.from("%PDX"),
      "application/pdf",
    ],
    ["a declared type outside the policy", Buffer.from("{}"), "application/json"],
  ])("refuses %s with UNSUPPORTED_MEDIA_TYPE", async (_name, head, declared) => {
    const verdict = await decideContentType(head, declared, POLICY);
    expect(verdict).toBeInstanceOf(HttpError);
    expect((verdict as HttpError).code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect((verdict as HttpError).status).toBe(415);
  });
});

describe("peekStream", () => {
  it("returns the first bytes and leaves the stream whole", async () => {
    const bytes = randomBytes(100_000);
    const source = new PassThrough({ highWaterMark: 1024 });
    // Written in small chunks over time, as a socket delivers them.
    void (async () => {
      for (let i = 0; i < bytes.length; i += 1000) {
        source.write(bytes.subarray(i, i + 1000));
        await new Promise((resolve) => setImmediate(resolve));
      }
      source.end();
    })();
    const { head, stream } = await peekStream(source);
    expect(stream).toBe(source);
    expect(head.equals(bytes.subarray(0, SNIFF_BYTES))).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it("hands back a fresh stream of every byte when the part ends within the peek", async () => {
    const { head, stream } = await peekStream(
      Readable.from([Buffer.from("short "), Buffer.from("file")]),
    );
    expect(head.toString()).toBe("short file");
    expect(await text(stream)).toBe("short file");
  });

  it("rejects when the part is destroyed before or during the peek", async () => {
    const gone = new PassThrough();
    gone.destroy();
    await expect(peekStream(gone)).rejects.toMatchObject({ code: "Aborted" });
    const failing = new PassThrough();
    const peeked = peekStream(failing);
    failing.write(Buffer.alloc(10));
    failing.destroy(new Error("client went away"));
    await expect(peeked).rejects.toThrow("client went away");
  });
});
