import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGcsTestServer, type GcsTestServer } from "../../src/gcs/index.ts";

// V4 signing written from Google's "Signing process" reference: canonical request (method,
// path, sorted RFC 3986-encoded query, canonical headers, signed headers, UNSIGNED-PAYLOAD),
// string to sign (GOOG4-RSA-SHA256, timestamp, scope, hex sha256), hex RSA-SHA256 signature.

const EMAIL = "signer@project.iam.gserviceaccount.com";
const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
const otherKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
let server: GcsTestServer;

const encode = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
const googDate = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

function signedUrl(
  objectPath: string,
  {
    expires = 300,
    at = new Date(),
    extra = {},
    key = keys.privateKey,
    method = "GET",
  }: {
    expires?: number;
    at?: Date;
    extra?: Record<string, string>;
    key?: typeof keys.privateKey;
    method?: string;
  } = {},
): string {
  const base = new URL(server.url);
  const timestamp = googDate(at);
  const scope = `${timestamp.slice(0, 8)}/auto/storage/goog4_request`;
  const query: Record<string, string> = {
    "X-Goog-Algorithm": "GOOG4-RSA-SHA256",
    "X-Goog-Credential": `${EMAIL}/${scope}`,
    "X-Goog-Date": timestamp,
    "X-Goog-Expires": String(expires),
    "X-Goog-SignedHeaders": "host",
    ...extra,
  };
  const canonicalQuery = Object.entries(query)
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join("&");
  const path = objectPath.split("/").map(encode).join("/");
  const canonicalRequest = [
    method,
    `/${path}`,
    canonicalQuery,
    `host:${base.hostname}\n`,
    "host",
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const stringToSign = [
    "GOOG4-RSA-SHA256",
    timestamp,
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  const signature = sign("RSA-SHA256", Buffer.from(stringToSign), key).toString("hex");
  return `${server.url}/${path}?${canonicalQuery}&X-Goog-Signature=${signature}`;
}

beforeAll(async () => {
  server = await startGcsTestServer({
    buckets: ["signed-bucket"],
    signers: { [EMAIL]: keys.publicKey },
  });
  await fetch(
    `${server.url}/upload/storage/v1/b/signed-bucket/o?uploadType=media&name=${encodeURIComponent("a dir/ü file+1.txt")}`,
    {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "signed content",
    },
  );
});
afterAll(() => server.stop());

const xmlCode = async (response: Response) =>
  /<Code>([^<]+)<\/Code>/.exec(await response.text())?.[1];

describe("V4 signed URL downloads (XML API)", () => {
  it("serves the object for a valid signature, with ranges and response-* overrides", async () => {
    const ok = await fetch(signedUrl("signed-bucket/a dir/ü file+1.txt"));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("text/plain");
    expect(await ok.text()).toBe("signed content");

    const ranged = await fetch(signedUrl("signed-bucket/a dir/ü file+1.txt"), {
      headers: { range: "bytes=7-" },
    });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe("content");

    const overridden = await fetch(
      signedUrl("signed-bucket/a dir/ü file+1.txt", {
        extra: {
          "response-content-disposition": 'attachment; filename="x.txt"',
          "response-content-type": "application/x-test",
        },
      }),
    );
    expect(overridden.headers.get("content-disposition")).toBe('attachment; filename="x.txt"');
    expect(overridden.headers.get("content-type")).toBe("application/x-test");
  });

  it("refuses a changed URL, another key, another method, and an unsigned request", async () => {
    const url = new URL(signedUrl("signed-bucket/a dir/ü file+1.txt"));
    url.searchParams.set("X-Goog-Expires", "301");
    const tampered = await fetch(url);
    expect(tampered.status).toBe(403);
    expect(await xmlCode(tampered)).toBe("SignatureDoesNotMatch");

    const wrongKey = await fetch(
      signedUrl("signed-bucket/a dir/ü file+1.txt", { key: otherKeys.privateKey }),
    );
    expect(wrongKey.status).toBe(403);
    await wrongKey.arrayBuffer();

    const head = await fetch(signedUrl("signed-bucket/a dir/ü file+1.txt"), { method: "HEAD" });
    expect(head.status).toBe(403);

    const anonymous = await fetch(`${server.url}/signed-bucket/a%20dir/%C3%BC%20file%2B1.txt`);
    expect(anonymous.status).toBe(403);
    expect(await xmlCode(anonymous)).toBe("AccessDenied");
  });

  it("refuses an expired URL, and an expiry over seven days", async () => {
    const expired = await fetch(
      signedUrl("signed-bucket/a dir/ü file+1.txt", {
        expires: 60,
        at: new Date(Date.now() - 120_000),
      }),
    );
    expect(expired.status).toBe(400);
    expect(await xmlCode(expired)).toBe("ExpiredToken");
    const tooLong = await fetch(signedUrl("signed-bucket/a dir/ü file+1.txt", { expires: 604801 }));
    expect(tooLong.status).toBe(400);
    expect(await xmlCode(tooLong)).toBe("AuthorizationQueryParametersError");
  });

  it("answers NoSuchKey for a validly signed URL to a missing object", async () => {
    const missing = await fetch(signedUrl("signed-bucket/missing.txt"));
    expect(missing.status).toBe(404);
    expect(await xmlCode(missing)).toBe("NoSuchKey");
  });
});
