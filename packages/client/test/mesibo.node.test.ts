/**
 * mesiboUploadHandler as mesibo calls it, in Node, against a real gateway; and what
 * readMesiboFile makes of the shapes mesibo's JavaScript API and apps hand over.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mesiboUploadHandler, readMesiboFile, type UploadError } from "../src/index.ts";
import { keyOf, startStack, TOKEN, type Stack } from "./support/stack.ts";

/** Calls the handler the way mesibo does, noting whether the callback came synchronously. */
function callAsMesibo(handler: ReturnType<typeof mesiboUploadHandler>, file: unknown) {
  return new Promise<{ url: string | null; sync: boolean; calls: number }>((resolve) => {
    let returned = false;
    let calls = 0;
    handler(file, (url) => {
      calls++;
      const sync = !returned;
      // A second call would change `calls` before the check below runs.
      setTimeout(() => resolve({ url, sync, calls }), 50);
    });
    returned = true;
  });
}

describe("mesiboUploadHandler in Node", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it("uploads mesibo's file object with its mid and source and calls back once with the URL", async () => {
    let tokenAsks = 0;
    const handler = mesiboUploadHandler({
      url: stack.uploadUrl,
      getToken: async () => (tokenAsks++, TOKEN),
      uid: 42,
    });
    const message = { mid: 4294967295, source: 1, name: "me.png", file: new Blob(["avatar"]) };
    const result = await callAsMesibo(handler, message);
    expect(result).toEqual({
      url: expect.stringMatching(/^http:\/\/.+\/files\//),
      sync: false,
      calls: 1,
    });
    expect(tokenAsks).toBe(1);
    const info = await stack.storage.stat(keyOf(result.url ?? ""));
    expect(info.metadata).toMatchObject({ uid: "42", mid: "4294967295", source: "1" });
    expect(await (await fetch(result.url ?? "")).text()).toBe("avatar");
  });

  it("calls back with null on a refusal and tells onError why", async () => {
    const errors: UploadError[] = [];
    const handler = mesiboUploadHandler({
      url: stack.uploadUrl,
      token: "revoked-token",
      uid: 42,
      source: 0,
      onError: (error) => errors.push(error),
    });
    expect(await callAsMesibo(handler, new Blob(["x"]))).toEqual({
      url: null,
      sync: false,
      calls: 1,
    });
    expect(errors.map((e) => [e.code, e.status])).toEqual([["UNAUTHORIZED", 401]]);
  });

  it("never throws into mesibo, whatever it is handed", async () => {
    const errors: string[] = [];
    const handler = mesiboUploadHandler({
      url: stack.uploadUrl,
      token: TOKEN,
      onError: (error) => errors.push(error.code),
    });
    for (const value of [undefined, null, 42, "no-such-element", { mid: 5 }, { file: "text" }]) {
      expect(await callAsMesibo(handler, value)).toEqual({ url: null, sync: false, calls: 1 });
    }
    expect(errors).toEqual(Array(6).fill("INVALID_ARGUMENT"));
    expect(() => handler(undefined, undefined as never)).not.toThrow();
  });

  it("refuses to be created without a URL or a token", () => {
    expect(() => mesiboUploadHandler({ url: "", token: TOKEN })).toThrow(/upload URL/);
    expect(() => mesiboUploadHandler({ url: stack.uploadUrl })).toThrow(/token/);
  });
});

describe("readMesiboFile", () => {
  const blob = new Blob(["bytes"]);

  it("takes a File or Blob as it is", () => {
    expect(readMesiboFile(blob)).toEqual({ file: blob });
    const file = new File(["x"], "photo.jpg");
    expect(readMesiboFile(file)).toEqual({ file });
  });

  it("reads the file and mesibo's fields from a message or file-transfer object", () => {
    expect(
      readMesiboFile({
        id: "12345",
        uid: 7n,
        source: 3,
        filename: "thumb.jpg",
        blob,
        peer: "18885551001",
      }),
    ).toEqual({ file: blob, mid: "12345", uid: 7n, source: 3, fileName: "thumb.jpg" });
    expect(readMesiboFile({ mid: 9, file: { files: [blob], length: 1 } })).toMatchObject({
      mid: 9,
    });
    expect(readMesiboFile({ data: { 0: blob, length: 1 } })).toEqual({ file: blob });
  });

  it("ignores fields that are not mesibo ids or sources, and never takes the peer for the uid", () => {
    expect(readMesiboFile({ mid: 0, uid: "abc", source: -1, file: blob, peer: "42" })).toEqual({
      file: blob,
    });
    expect(readMesiboFile({ mid: 2 ** 60, source: "profile", content: blob })).toEqual({
      file: blob,
      source: "profile",
    });
  });

  it("finds nothing where there is no file", () => {
    for (const value of [undefined, null, "", "an-element-id", 3, {}, { file: "x" }, { files: [] }])
      expect(readMesiboFile(value)).toBeUndefined();
  });
});
