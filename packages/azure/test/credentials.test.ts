import { getCACertificates, setDefaultCACertificates } from "node:tls";
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  AnonymousCredential,
  ContainerClient,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from "@azure/storage-blob";
import { supportsSignedUrls, type StorageAdapter, type StorageErrorCode } from "@mediagate/core";
import { expectStorageError, readAll, streamOf } from "@mediagate/core/conformance";
import type { TokenCredential } from "@azure/identity";
import { LOOPBACK_TLS, startAzurite, type AzuriteServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureBlobAdapter } from "../src/index.ts";
import { DELEGATION_KEY_MARGIN_MS } from "../src/signing.ts";
import { NO_RETRIES, deadPort, sharedKeyAdapter, signing } from "./azurite.ts";
import { TestTokenCredential, UnavailableCredential } from "./test-credential.ts";

const CONTAINER = "credentials";

let plain: AzuriteServer;
let secure: AzuriteServer;

beforeAll(async () => {
  // Trust the loopback certificate the https Azurite serves, for the SDK and for fetch().
  setDefaultCACertificates([...getCACertificates("default"), LOOPBACK_TLS.cert]);
  [plain, secure] = await Promise.all([startAzurite(), startAzurite({ entraId: true })]);
  await sharedKeyAdapter(plain, CONTAINER);
  await sharedKeyAdapter(secure, CONTAINER);
});

afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
});

/** An account SAS over the whole blob service with the given permissions. */
function accountSas(server: AzuriteServer, permissions: string): string {
  return generateAccountSASQueryParameters(
    {
      permissions: AccountSASPermissions.parse(permissions),
      resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
      services: AccountSASServices.parse("b").toString(),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    new StorageSharedKeyCredential(server.accountName, server.accountKey),
  ).toString();
}

/** Writes, stats, lists, reads back and deletes one object: the adapter really works. */
async function roundTrip(adapter: StorageAdapter, key: string): Promise<void> {
  await adapter.check();
  const written = await adapter.write(key, streamOf(`bytes of ${key}`), {
    contentType: "text/plain",
    metadata: { uid: "7" },
  });
  expect((await adapter.stat(key)).etag).toBe(written.etag);
  const listed: string[] = [];
  for await (const entry of adapter.list(key)) listed.push(entry.key);
  expect(listed).toEqual([key]);
  const { body, info } = await adapter.read(key);
  expect((await readAll(body)).toString()).toBe(`bytes of ${key}`);
  expect(info.metadata).toEqual({ uid: "7" });
  await adapter.delete(key);
  await expectStorageError(adapter.stat(key), "NotFound");
}

async function fetchText(
  url: string,
): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(url);
  return {
    status: response.status,
    text: await response.text(),
    type: response.headers.get("content-type"),
  };
}

describe("credential kinds, each against a real Azurite", () => {
  it("account name + key: works, and signs a service SAS a plain fetch can use", async () => {
    const adapter = new AzureBlobAdapter({
      accountName: plain.accountName,
      accountKey: plain.accountKey,
      endpoint: plain.blobEndpoint,
      container: CONTAINER,
      pipeline: NO_RETRIES,
    });
    expect(adapter.credentialKind).toBe("shared-key");
    await roundTrip(adapter, "shared-key/object.txt");

    await adapter.write("shared-key/signed.txt", streamOf("signed"), { contentType: "text/plain" });
    expect(supportsSignedUrls(adapter)).toBe(true);
    const url = await signing(adapter).signedUrl("shared-key/signed.txt", { expiresIn: 60 });
    const params = new URL(url).searchParams;
    expect(params.get("sp"), "read-only").toBe("r");
    expect(params.get("sr"), "one blob").toBe("b");
    expect(params.get("skoid"), "not a user-delegation SAS").toBeNull();
    expect(await fetchText(url)).toEqual({ status: 200, text: "signed", type: "text/plain" });
    // Read-only means read-only: the same URL cannot overwrite the blob.
    const put = await fetch(url, {
      method: "PUT",
      body: "x",
      headers: { "x-ms-blob-type": "BlockBlob" },
    });
    expect(put.status).toBe(403);
  });

  it("an account-key connection string: works and signs", async () => {
    const adapter = new AzureBlobAdapter({
      connectionString: plain.connectionString,
      container: CONTAINER,
      pipeline: NO_RETRIES,
    });
    expect(adapter.credentialKind).toBe("connection-string");
    await roundTrip(adapter, "connection-string/object.txt");
    expect(supportsSignedUrls(adapter)).toBe(true);
  });

  it("a SAS connection string: works, and offers no signedUrl", async () => {
    const adapter = new AzureBlobAdapter({
      connectionString: `BlobEndpoint=${plain.blobEndpoint};SharedAccessSignature=${accountSas(plain, "rwdlc")}`,
      container: CONTAINER,
      pipeline: NO_RETRIES,
    });
    await roundTrip(adapter, "sas-connection-string/object.txt");
    expect(supportsSignedUrls(adapter)).toBe(false);
    expect(adapter.signedUrl).toBeUndefined();
  });

  it.each([
    ["without", ""],
    ["with", "?"],
  ])(
    "account name + SAS token %s a leading '?': works, and never hands the token out",
    async (_label, lead) => {
      const adapter = new AzureBlobAdapter({
        accountName: plain.accountName,
        sasToken: `${lead}${accountSas(plain, "rwdlc")}`,
        endpoint: plain.blobEndpoint,
        container: CONTAINER,
        pipeline: NO_RETRIES,
      });
      expect(adapter.credentialKind).toBe("sas-token");
      await roundTrip(adapter, `sas-token-${lead ? "q" : "bare"}/object.txt`);
      expect(supportsSignedUrls(adapter)).toBe(false);
    },
  );

  it("a read-only SAS token: reads work, writes and deletes are Unauthorized, never NotFound", async () => {
    const writer = await sharedKeyAdapter(plain, CONTAINER);
    await writer.write("read-only/existing", streamOf("kept"));
    const adapter = new AzureBlobAdapter({
      accountName: plain.accountName,
      sasToken: accountSas(plain, "rl"),
      endpoint: plain.blobEndpoint,
      container: CONTAINER,
      pipeline: NO_RETRIES,
    });
    await adapter.check();
    expect((await readAll((await adapter.read("read-only/existing")).body)).toString()).toBe(
      "kept",
    );
    await expectStorageError(adapter.write("read-only/new", streamOf("x")), "Unauthorized");
    await expectStorageError(adapter.delete("read-only/existing"), "Unauthorized");
    await expectStorageError(adapter.delete("read-only/missing"), "Unauthorized");
    expect((await writer.stat("read-only/existing")).size).toBe(4);
  });

  it("an existing ContainerClient: signs when it carries an account key, not when it is anonymous", async () => {
    const keyed = new AzureBlobAdapter({
      containerClient: new ContainerClient(
        `${plain.blobEndpoint}/${CONTAINER}`,
        new StorageSharedKeyCredential(plain.accountName, plain.accountKey),
      ),
      prefix: "tenant-a",
    });
    expect(keyed.credentialKind).toBe("container-client");
    await roundTrip(keyed, "client/object.txt");
    await keyed.write("client/signed", streamOf("via client"));
    expect(
      await fetchText(await signing(keyed).signedUrl("client/signed", { expiresIn: 60 })),
    ).toMatchObject({
      status: 200,
      text: "via client",
    });

    const anonymous = new AzureBlobAdapter({
      containerClient: new ContainerClient(
        `${plain.blobEndpoint}/${CONTAINER}?${accountSas(plain, "rl")}`,
        new AnonymousCredential(),
      ),
      prefix: "tenant-a",
    });
    expect(supportsSignedUrls(anonymous)).toBe(false);
    // Same prefix, same container: the keyed adapter's object is visible under the same key.
    expect((await anonymous.stat("client/signed")).size).toBe("via client".length);
  });

  describe("Entra ID (Azurite over https with --oauth basic)", () => {
    const entraAdapter = (credential: TokenCredential = new TestTokenCredential()) =>
      new AzureBlobAdapter({
        accountName: secure.accountName,
        endpoint: secure.blobEndpoint,
        container: CONTAINER,
        credential,
        pipeline: NO_RETRIES,
      });

    it("authenticates every call with bearer tokens for the storage scope", async () => {
      const credential = new TestTokenCredential();
      const adapter = entraAdapter(credential);
      expect(adapter.credentialKind).toBe("entra-id");
      await roundTrip(adapter, "entra/object.txt");
      expect(credential.scopesAsked.length).toBeGreaterThan(0);
      expect(credential.scopesAsked.flat()).toContain("https://storage.azure.com/.default");
    });

    it("signs user-delegation SAS URLs that Azurite verifies, reusing one delegation key", async () => {
      const adapter = entraAdapter();
      await adapter.write("entra/signed.bin", streamOf("delegated"), {
        contentType: "application/octet-stream",
      });
      expect(supportsSignedUrls(adapter)).toBe(true);
      const first = new URL(
        await signing(adapter).signedUrl("entra/signed.bin", {
          expiresIn: 600,
          contentType: "image/png",
          contentDisposition: 'attachment; filename="a.png"',
        }),
      );
      const second = new URL(
        await signing(adapter).signedUrl("entra/signed.bin", { expiresIn: 60 }),
      );
      // A user-delegation SAS names the key it was signed with.
      for (const url of [first, second]) {
        expect(url.searchParams.get("skoid")).toMatch(/^[0-9a-f-]{36}$/);
        expect(url.searchParams.get("sp")).toBe("r");
      }
      expect(second.searchParams.get("skt")).toBe(first.searchParams.get("skt"));
      expect(second.searchParams.get("ske")).toBe(first.searchParams.get("ske"));

      const response = await fetch(first);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/png");
      expect(response.headers.get("content-disposition")).toBe('attachment; filename="a.png"');
      expect(await response.text()).toBe("delegated");

      // A tampered signature is refused: Azurite really checks it.
      const forged = new URL(first);
      forged.searchParams.set("sig", Buffer.alloc(32).toString("base64"));
      expect((await fetch(forged)).status).toBe(403);
    });

    it("signs for (nearly) seven days, never past the delegation key, which stays under seven", async () => {
      const adapter = entraAdapter();
      await adapter.write("entra/week", streamOf("week"));
      const before = Date.now();
      const url = await signing(adapter).signedUrl("entra/week", { expiresIn: 7 * 24 * 3600 });
      expect(await fetchText(url)).toMatchObject({ status: 200, text: "week" });
      const params = new URL(url).searchParams;
      const sasExpiry = Date.parse(params.get("se") ?? "");
      const keyExpiry = Date.parse(params.get("ske") ?? "");
      const week = 7 * 24 * 3600 * 1000;
      // Requested with a margin, so a local clock running ahead of Azure's is still accepted.
      expect(keyExpiry).toBeLessThanOrEqual(Date.now() + week - DELEGATION_KEY_MARGIN_MS);
      expect(keyExpiry).toBeGreaterThan(before + week - DELEGATION_KEY_MARGIN_MS - 60_000);
      expect(sasExpiry).toBeLessThanOrEqual(keyExpiry);
      expect(sasExpiry).toBeGreaterThan(before + week - DELEGATION_KEY_MARGIN_MS - 60_000);
    });

    it("rejects every call with Unauthorized when no identity is available", async () => {
      const adapter = entraAdapter(new UnavailableCredential());
      for (const call of [
        () => adapter.check(),
        () => adapter.stat("entra/x"),
        () => adapter.write("entra/x", streamOf("x")),
        () => signing(adapter).signedUrl("entra/x", { expiresIn: 60 }),
      ]) {
        const error = await expectStorageError(call, "Unauthorized");
        expect((error.cause as Error).name).toBe("CredentialUnavailableError");
      }
    });

    it("rejects bearer tokens Azure would refuse with Unauthorized", async () => {
      const expired = new TestTokenCredential();
      expired.getToken = async () => ({
        token: "not-a-jwt",
        expiresOnTimestamp: Date.now() + 60_000,
      });
      await expectStorageError(entraAdapter(expired).check(), "Unauthorized");
    });

    it("with only an account name, uses DefaultAzureCredential (loaded on first use)", () => {
      const adapter = new AzureBlobAdapter({ accountName: "mediagateprod", container: "media" });
      expect(adapter.credentialKind).toBe("entra-id");
      expect(adapter.containerClient.url).toBe("https://mediagateprod.blob.core.windows.net/media");
      expect(supportsSignedUrls(adapter)).toBe(true);
    });
  });
});

describe("configuration errors are InvalidArgument, raised at construction", () => {
  const cases: [string, () => unknown, RegExp, StorageErrorCode?][] = [
    [
      "two credentials at once",
      () =>
        new AzureBlobAdapter({
          accountName: "acct",
          accountKey: "a2V5",
          sasToken: "sv=1&sig=x",
          container: "media",
        } as never),
      /only one way to authenticate; got accountKey and sasToken/,
    ],
    [
      "no container",
      () => new AzureBlobAdapter({ accountName: "acct", accountKey: "a2V5" } as never),
      /container name is required/,
    ],
    [
      "an upper-case container",
      () => new AzureBlobAdapter({ accountName: "acct", accountKey: "a2V5", container: "Media" }),
      /lowercase/,
    ],
    [
      "a two-letter container",
      () => new AzureBlobAdapter({ accountName: "acct", accountKey: "a2V5", container: "m1" }),
      /3 to 63/,
    ],
    [
      "a container with '--'",
      () =>
        new AzureBlobAdapter({ accountName: "acct", accountKey: "a2V5", container: "my--media" }),
      /two hyphens/,
    ],
    [
      "a bad account name",
      () =>
        new AzureBlobAdapter({ accountName: "My_Account", accountKey: "a2V5", container: "media" }),
      /3 to 24 lowercase/,
    ],
    [
      "an empty account key",
      () => new AzureBlobAdapter({ accountName: "acct", accountKey: " ", container: "media" }),
      /account key is empty/,
    ],
    [
      "a SAS token without a signature",
      () =>
        new AzureBlobAdapter({
          accountName: "acct",
          sasToken: "sv=2024-01-01&sp=r",
          container: "media",
        }),
      /sv= and sig=/,
    ],
    [
      "an endpoint that is not a URL",
      () =>
        new AzureBlobAdapter({
          accountName: "acct",
          accountKey: "a2V5",
          container: "media",
          endpoint: "localhost:10000",
        }),
      /http or https/,
    ],
    [
      "an endpoint carrying a query",
      () =>
        new AzureBlobAdapter({
          accountName: "acct",
          accountKey: "a2V5",
          container: "media",
          endpoint: "https://acct.blob.core.windows.net/?sv=1&sig=x",
        }),
      /must not carry a query/,
    ],
    [
      "Entra ID over plain http",
      () =>
        new AzureBlobAdapter({
          accountName: "acct",
          container: "media",
          endpoint: "http://127.0.0.1:10000/acct",
        }),
      /only ever sent over https/,
    ],
    [
      "an empty connection string",
      () => new AzureBlobAdapter({ connectionString: "  ", container: "media" }),
      /connection string is empty/,
    ],
    [
      "a connection string without a key or SAS",
      () =>
        new AzureBlobAdapter({
          connectionString: "AccountName=acct;BlobEndpoint=https://acct.blob.core.windows.net",
          container: "media",
        }),
      /must hold AccountName and AccountKey/,
    ],
    [
      "a SAS connection string without its endpoint",
      () =>
        new AzureBlobAdapter({
          connectionString: "SharedAccessSignature=sv=2024-01-01&sig=abc",
          container: "media",
        }),
      /SharedAccessSignature but no BlobEndpoint/,
    ],
    [
      "a connection string whose key is not base64",
      () =>
        new AzureBlobAdapter({
          connectionString: "AccountName=acct;AccountKey=not base64!",
          container: "media",
        }),
      /AccountKey that is not base64/,
    ],
    [
      "a connection string with a broken BlobEndpoint",
      () =>
        new AzureBlobAdapter({
          connectionString: "AccountName=acct;AccountKey=a2V5;BlobEndpoint=https://",
          container: "media",
        }),
      /BlobEndpoint that is not an http\(s\) URL/,
    ],
    [
      "a connection string plus an endpoint",
      () =>
        new AzureBlobAdapter({
          connectionString: "UseDevelopmentStorage=true",
          container: "media",
          endpoint: "http://x",
        } as never),
      /already names the account/,
    ],
    [
      "a zero bufferSize",
      () =>
        new AzureBlobAdapter({
          connectionString: "UseDevelopmentStorage=true",
          container: "media",
          bufferSize: 0,
        }),
      /bufferSize/,
    ],
    [
      "a fractional concurrency",
      () =>
        new AzureBlobAdapter({
          connectionString: "UseDevelopmentStorage=true",
          container: "media",
          concurrency: 1.5,
        }),
      /concurrency/,
    ],
    [
      "a prefix with '..'",
      () =>
        new AzureBlobAdapter({
          connectionString: "UseDevelopmentStorage=true",
          container: "media",
          prefix: "a/../b",
        }),
      /Invalid key/,
      "InvalidKey",
    ],
  ];

  it.each(cases)("%s", async (_label, build, message, code = "InvalidArgument") => {
    const error = await expectStorageError(build, code);
    expect(error.message).toMatch(message);
  });

  it("never echoes the account key of a broken connection string", async () => {
    const secret = "c2VjcmV0LWtleS1tYXRlcmlhbA==";
    const error = await expectStorageError(
      () =>
        new AzureBlobAdapter({
          connectionString: `AccountKey=${secret};EndpointSuffix=core.windows.net`,
          container: "media",
        }),
      "InvalidArgument",
    );
    expect(error.message).not.toContain(secret);
  });

  it("accepts UseDevelopmentStorage=true and an sovereign-cloud endpoint", () => {
    expect(
      new AzureBlobAdapter({ connectionString: "UseDevelopmentStorage=true", container: "media" })
        .containerClient.url,
    ).toBe("http://127.0.0.1:10000/devstoreaccount1/media");
    expect(
      new AzureBlobAdapter({
        accountName: "acct",
        accountKey: "a2V5",
        container: "media",
        endpoint: "https://acct.blob.core.usgovcloudapi.net/",
      }).containerClient.url,
    ).toBe("https://acct.blob.core.usgovcloudapi.net/media");
  });
});

describe("errors from a live Azurite keep their meaning", () => {
  it("a wrong account key is Unauthorized on every call, never NotFound", async () => {
    const adapter = new AzureBlobAdapter({
      accountName: plain.accountName,
      accountKey: Buffer.from("not the key").toString("base64"),
      endpoint: plain.blobEndpoint,
      container: CONTAINER,
      pipeline: NO_RETRIES,
    });
    await expectStorageError(adapter.check(), "Unauthorized");
    await expectStorageError(adapter.stat("missing"), "Unauthorized");
    await expectStorageError(adapter.read("missing"), "Unauthorized");
    await expectStorageError(adapter.write("x", streamOf("x")), "Unauthorized");
    await expectStorageError(adapter.delete("missing"), "Unauthorized");
    const iterator = adapter.list()[Symbol.asyncIterator]();
    await expectStorageError(iterator.next(), "Unauthorized");
  });

  it("a missing container is NotFound for check, stat, read and write", async () => {
    const adapter = await sharedKeyAdapter(plain, CONTAINER);
    const missing = new AzureBlobAdapter({
      connectionString: plain.connectionString,
      container: "not-created",
      pipeline: NO_RETRIES,
    });
    await expectStorageError(missing.check(), "NotFound");
    await expectStorageError(missing.stat("a"), "NotFound");
    await expectStorageError(missing.read("a"), "NotFound");
    await expectStorageError(missing.write("a", streamOf("x")), "NotFound");
    await adapter.check();
  });

  it("a closed port is Unavailable, with the socket error kept as cause", async () => {
    const adapter = new AzureBlobAdapter({
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${plain.accountName};AccountKey=${plain.accountKey};BlobEndpoint=http://127.0.0.1:${await deadPort()}/${plain.accountName};`,
      container: CONTAINER,
      pipeline: NO_RETRIES,
    });
    const error = await expectStorageError(adapter.check(), "Unavailable");
    expect(error.cause).toBeDefined();
  });
});
