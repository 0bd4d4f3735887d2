import { supportsSignedUrls, type SignedUrlOptions } from "@mediagate/core";
import { expectStorageError, streamOf } from "@mediagate/core/conformance";
import { startGcsTestServer, type GcsTestServer } from "@mediagate/test-servers";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcsAdapter } from "../src/index.ts";
import { generateServiceAccount, TEST_PROJECT } from "./helpers.ts";

const BUCKET = "mediagate-signing";
const account = generateServiceAccount();
let server: GcsTestServer;
let dir: string;

beforeAll(async () => {
  server = await startGcsTestServer({
    buckets: [BUCKET],
    signers: { [account.email]: account.publicKey },
  });
  dir = await mkdtemp(join(tmpdir(), "mediagate-gcs-key-"));
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The adapter's signedUrl, which these tests expect to be present. */
function sign(adapter: GcsAdapter, key: string, options: SignedUrlOptions): Promise<string> {
  if (!adapter.signedUrl) throw new Error("this adapter offers no signedUrl");
  return adapter.signedUrl(key, options);
}

const base = () => ({ bucket: BUCKET, projectId: TEST_PROJECT, apiEndpoint: server.url });

describe("GcsAdapter signed URLs", () => {
  it("signs V4 URLs (not the SDK's default V2) that the server verifies", async () => {
    const adapter = new GcsAdapter({ ...base(), credentials: account.credentials });
    expect(supportsSignedUrls(adapter)).toBe(true);
    await adapter.write("signed/photo.jpg", streamOf("jpeg bytes"), { contentType: "image/jpeg" });
    const url = new URL(await sign(adapter, "signed/photo.jpg", { expiresIn: 600 }));
    expect(url.searchParams.get("X-Goog-Algorithm")).toBe("GOOG4-RSA-SHA256");
    expect(url.searchParams.get("X-Goog-Expires")).toBe("600");
    expect(url.searchParams.has("GoogleAccessId")).toBe(false);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("jpeg bytes");

    // Any change to what was signed is refused.
    const tampered = new URL(url);
    tampered.searchParams.set("X-Goog-Expires", "601");
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("SignatureDoesNotMatch");
  });

  it("signs with a key file given by path", async () => {
    const keyFile = join(dir, "key.json");
    await writeFile(keyFile, JSON.stringify(account.credentials));
    const adapter = new GcsAdapter({ ...base(), keyFile });
    await adapter.write("signed/keyfile.txt", streamOf("from key file"));
    const response = await fetch(await sign(adapter, "signed/keyfile.txt", { expiresIn: 60 }));
    expect(await response.text()).toBe("from key file");
  });

  it("signs with inline base64 credentials (GCS_CREDENTIALS style)", async () => {
    const encoded = Buffer.from(JSON.stringify(account.credentials)).toString("base64");
    const adapter = new GcsAdapter({ ...base(), credentials: encoded });
    await adapter.write("signed/base64.txt", streamOf("from base64"));
    const response = await fetch(await sign(adapter, "signed/base64.txt", { expiresIn: 60 }));
    expect(await response.text()).toBe("from base64");
  });

  it("offers no signedUrl against an emulator without credentials: nothing could sign", () => {
    const adapter = new GcsAdapter(base());
    expect(supportsSignedUrls(adapter)).toBe(false);
    expect(adapter.signedUrl).toBeUndefined();
  });

  it("offers no signedUrl with user credentials, which can never sign", () => {
    const user = {
      type: "authorized_user",
      client_id: "id",
      client_secret: "secret",
      refresh_token: "token",
    };
    expect(supportsSignedUrls(new GcsAdapter({ ...base(), credentials: user }))).toBe(false);
  });

  it("answers Unsupported, with what to do, when credentials turn out unable to sign", async () => {
    const user = {
      type: "authorized_user",
      client_id: "id",
      client_secret: "secret",
      refresh_token: "token",
    };
    const adapter = new GcsAdapter({ ...base(), credentials: user, signedUrls: true });
    const error = await expectStorageError(
      sign(adapter, "signed/x", { expiresIn: 60 }),
      "Unsupported",
    );
    expect(error.message).toMatch(/cannot sign URLs/);
    expect(error.message).toMatch(/Service Account Token Creator/);
    expect(error.cause).toBeDefined();
  });

  it("checks expiry and key before signing", async () => {
    const adapter = new GcsAdapter({ ...base(), credentials: account.credentials });
    await expectStorageError(
      () => sign(adapter, "signed/x", { expiresIn: 7 * 24 * 3600 + 1 }),
      "InvalidArgument",
    );
    await expectStorageError(() => sign(adapter, "../x", { expiresIn: 60 }), "InvalidKey");
  });
});
