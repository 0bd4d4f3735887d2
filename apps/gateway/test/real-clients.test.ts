/**
 * What real mesibo clients send, through a real gateway on every backend: bodies built byte
 * for byte as mesibo's native form encoder builds them (percent-encoded values, the extra
 * part headers, `noname`), the field sets of mesibo's own sample handlers (Android's `token`,
 * Swift's missing uid and source), and file names that do not say what the file is.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import { BackendSession, PUBLIC_BASE_URL } from "./support/backend-session.ts";
import { expectRefusal } from "./support/forms.ts";
import { send } from "./support/http.ts";
import { nativeBody, nativeEncode, type NativeUpload } from "./support/mesibo-native.ts";

/** A token with the characters the native encoder escapes: it arrives as Tok%2Bwith%2F… */
const SPECIAL_TOKEN = "Tok+with/special=chars~0123";
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
/** A JPEG's first bytes (JFIF), then noise: enough for the type to be recognised. */
const jpeg = () =>
  Buffer.concat([
    Buffer.from("ffd8ffe000104a46494600010100000100010000", "hex"),
    randomBytes(3000),
  ]);
/** A whole 1×1 PNG: a truncated one may be taken for another format, or for none. */
const png = () =>
  Buffer.from(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
      "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082",
    "hex",
  );

describe("the native encoder", () => {
  it("escapes every byte but letters, digits and -._~!*(), and spaces as +", () => {
    expect(nativeEncode(SPECIAL_TOKEN)).toBe("Tok%2Bwith%2Fspecial%3Dchars~0123");
    expect(nativeEncode("a b!*()é")).toBe("a+b!*()%C3%A9");
  });
});

for (const fixture of backends) {
  describe(`real mesibo clients on ${fixture.name}`, () => {
    const session = new BackendSession(fixture);

    beforeAll(() => session.start({ AUTH_TOKENS: `${SPECIAL_TOKEN},plain-token-0123456789` }));
    afterAll(() => session.stop());

    async function post(upload: NativeUpload) {
      const { contentType, body } = nativeBody(upload);
      return send(`${session.gateway.url}/upload`, {
        method: "POST",
        headers: { "content-type": contentType },
        body,
      });
    }

    async function expectStored(upload: NativeUpload) {
      const answer = await post(upload);
      expect(answer.status, answer.text).toBe(200);
      const { url } = answer.json as { result: boolean; url: string };
      expect(answer.json).toEqual({ result: true, url: expect.stringMatching(/^https:\/\//) });
      expect(url.startsWith(`${PUBLIC_BASE_URL}/files/`)).toBe(true);
      const download = await send(session.local(url));
      expect(download.status).toBe(200);
      expect(sha256(download.body)).toBe(sha256(upload.body));
      return { url, info: await session.adapter.stat(session.keyOf(url)) };
    }

    it("accepts a token the encoder percent-encoded, and the same token sent raw", async () => {
      const fields: [string, string][] = [
        ["op", "upload"],
        ["auth", SPECIAL_TOKEN],
        ["uid", "42"],
        ["mid", "7"],
        ["source", "0"],
      ];
      const { info } = await expectStored({ fields, body: jpeg() });
      expect(info.metadata).toMatchObject({ uid: "42", mid: "7", source: "0" });
      // curl and browsers send the same token unencoded.
      const raw = await send(`${session.gateway.url}/upload`, {
        method: "POST",
        ...rawForm([...fields], jpeg()),
      });
      expect(raw.status, raw.text).toBe(200);
    });

    it("refuses an encoded token that decodes to nothing configured, as 401 JSON", async () => {
      const answer = await post({
        fields: [
          ["op", "upload"],
          ["auth", "Tok+with/special=chars~9999"],
          ["uid", "42"],
          ["mid", "7"],
        ],
        body: jpeg(),
      });
      expectRefusal(answer, 401, "UNAUTHORIZED");
    });

    it("stores the Android sample's form: `token` for auth, `profile`, the `photo` part", async () => {
      const { url, info } = await expectStored({
        fields: [
          ["op", "upload"],
          ["token", SPECIAL_TOKEN],
          ["uid", "42"],
          ["mid", "8"],
          ["profile", "0"],
        ],
        fileField: "photo",
        path: "/storage/emulated/0/DCIM/IMG_0001.jpg",
        body: jpeg(),
      });
      expect(url).toMatch(/\.jpg$/);
      expect(info.metadata).toMatchObject({ uid: "42", mid: "8", filename: "IMG_0001.jpg" });
    });

    it("refuses `auth` and `token` that disagree with 400", async () => {
      const answer = await post({
        fields: [
          ["op", "upload"],
          ["auth", SPECIAL_TOKEN],
          ["token", "plain-token-0123456789"],
          ["uid", "42"],
          ["mid", "9"],
        ],
        body: jpeg(),
      });
      expectRefusal(answer, 400, "BAD_REQUEST");
    });

    it("stores the Swift sample's form (no uid, no source) as source unknown, without a uid", async () => {
      const { info } = await expectStored({
        fields: [
          ["op", "upload"],
          ["auth", SPECIAL_TOKEN],
          ["mid", "10"],
          ["profile", "0"],
        ],
        fileField: "photo",
        body: jpeg(),
      });
      expect(info.metadata.source).toBe("99");
      expect(info.metadata).not.toHaveProperty("uid");
    });

    it("names the key after what the bytes are: `noname` and a PNG named .jpg", async () => {
      const noname = await expectStored({
        fields: [
          ["op", "upload"],
          ["auth", SPECIAL_TOKEN],
          ["uid", "1"],
          ["mid", "11"],
        ],
        body: jpeg(),
      });
      expect(noname.url).toMatch(/\.jpg$/);
      expect(noname.info.contentType).toBe("image/jpeg");
      const misnamed = await expectStored({
        fields: [
          ["op", "upload"],
          ["auth", SPECIAL_TOKEN],
          ["uid", "1"],
          ["mid", "12"],
        ],
        path: "/sdcard/photo.jpg",
        body: png(),
      });
      expect(misnamed.url).toMatch(/\.png$/);
      expect(misnamed.info.contentType).toBe("image/png");
    });

    it("refuses a uid that is not a mesibo id, encoded or not", async () => {
      const answer = await post({
        fields: [
          ["op", "upload"],
          ["auth", SPECIAL_TOKEN],
          ["uid", "4 2"],
          ["mid", "13"],
        ],
        body: jpeg(),
      });
      expectRefusal(answer, 400, "INVALID_UID");
    });
  });
}

/** The same fields as curl -F sends them: raw values, the file typed by its name. */
function rawForm(fields: [string, string][], body: Buffer) {
  const boundary = `curl${randomBytes(8).toString("hex")}`;
  const parts = fields.map(([name, value]) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    ),
  );
  return {
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body: Buffer.concat([
      ...parts,
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      body,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
  };
}
