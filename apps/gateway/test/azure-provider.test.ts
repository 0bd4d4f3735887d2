/**
 * STORAGE_PROVIDER=azure: each credential kind the AZURE_* variables can express builds the
 * matching adapter, and every bad combination stops start-up with one line naming the
 * variable, without echoing a secret. Talking to Azurite is the e2e suite's job.
 */
import type { AzureBlobAdapter } from "@mediagate/azure";
import { supportsSignedUrls } from "@mediagate/core";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";

const TOKEN = "azure-provider-token-0123456789";
const KEY = Buffer.from("an account key, not a real one").toString("base64");
const SAS = "sv=2024-11-04&ss=b&srt=sco&sp=rwdlc&se=2030-01-01T00:00:00Z&sig=c2lnbmF0dXJl";
const load = (env: Record<string, string>) =>
  loadConfig(
    { AUTH_TOKENS: TOKEN, STORAGE_PROVIDER: "azure", AZURE_CONTAINER: "media", ...env },
    "/srv",
  );

async function adapterFor(env: Record<string, string>): Promise<AzureBlobAdapter> {
  const config = load(env);
  // createBucket false: nothing is contacted, only built.
  return (await config.storage.provider.create(config.storage.env, {
    createBucket: false,
  })) as AzureBlobAdapter;
}

function problem(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a configuration error");
}

describe("STORAGE_PROVIDER=azure", () => {
  it("AZURE_STORAGE_CONNECTION_STRING: an account-key connection string, signing URLs", async () => {
    const adapter = await adapterFor({
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=mediaprod;AccountKey=${KEY};EndpointSuffix=core.windows.net`,
    });
    expect(adapter.name).toBe("azure");
    expect(adapter.credentialKind).toBe("connection-string");
    expect(adapter.containerClient.url).toBe("https://mediaprod.blob.core.windows.net/media");
    expect(supportsSignedUrls(adapter)).toBe(true);
  });

  it("AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, with AZURE_BLOB_ENDPOINT and tuning", async () => {
    const adapter = await adapterFor({
      AZURE_STORAGE_ACCOUNT: "devstoreaccount1",
      AZURE_STORAGE_KEY: KEY,
      AZURE_BLOB_ENDPOINT: "http://azurite:10000/devstoreaccount1",
      AZURE_PREFIX: "tenant-a/media",
      AZURE_BUFFER_SIZE: "4mb",
      AZURE_CONCURRENCY: "8",
    });
    expect(adapter.credentialKind).toBe("shared-key");
    expect(adapter.containerClient.url).toBe("http://azurite:10000/devstoreaccount1/media");
    expect(supportsSignedUrls(adapter)).toBe(true);
  });

  it("AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_SAS_TOKEN: no signed URLs (the token is never handed out)", async () => {
    const adapter = await adapterFor({
      AZURE_STORAGE_ACCOUNT: "mediaprod",
      AZURE_STORAGE_SAS_TOKEN: `?${SAS}`,
    });
    expect(adapter.credentialKind).toBe("sas-token");
    expect(supportsSignedUrls(adapter)).toBe(false);
  });

  it("AZURE_STORAGE_ACCOUNT alone: Entra ID through DefaultAzureCredential, signing user-delegation SAS", async () => {
    const adapter = await adapterFor({ AZURE_STORAGE_ACCOUNT: "mediaprod" });
    expect(adapter.credentialKind).toBe("entra-id");
    expect(adapter.containerClient.url).toBe("https://mediaprod.blob.core.windows.net/media");
    expect(supportsSignedUrls(adapter)).toBe(true);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      "no container",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_CONTAINER: "" },
      /AZURE_CONTAINER is required/,
    ],
    [
      "a bad container",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_CONTAINER: "Media_Files" },
      /AZURE_CONTAINER may only contain lowercase/,
    ],
    [
      "no account at all",
      {},
      /AZURE_STORAGE_ACCOUNT is required \(or AZURE_STORAGE_CONNECTION_STRING\)/,
    ],
    [
      "a bad account",
      { AZURE_STORAGE_ACCOUNT: "Media-Prod" },
      /AZURE_STORAGE_ACCOUNT must be 3 to 24 lowercase/,
    ],
    [
      "a key that is not base64",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_STORAGE_KEY: "not a key!" },
      /AZURE_STORAGE_KEY must be the account's base64 access key/,
    ],
    [
      "a SAS token without a signature",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_STORAGE_SAS_TOKEN: "sv=2024-11-04&sp=r" },
      /AZURE_STORAGE_SAS_TOKEN must be a SAS query string/,
    ],
    [
      "a key and a SAS token",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_STORAGE_KEY: KEY, AZURE_STORAGE_SAS_TOKEN: SAS },
      /AZURE_STORAGE_SAS_TOKEN cannot be combined with AZURE_STORAGE_KEY/,
    ],
    [
      "a connection string and an account",
      {
        AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
        AZURE_STORAGE_ACCOUNT: "mediaprod",
      },
      /AZURE_STORAGE_ACCOUNT cannot be combined with AZURE_STORAGE_CONNECTION_STRING/,
    ],
    [
      "a connection string and an endpoint",
      {
        AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
        AZURE_BLOB_ENDPOINT: "http://x:1",
      },
      /AZURE_BLOB_ENDPOINT cannot be combined/,
    ],
    [
      "a connection string without a key",
      { AZURE_STORAGE_CONNECTION_STRING: "AccountName=mediaprod;EndpointSuffix=core.windows.net" },
      /AZURE_STORAGE_CONNECTION_STRING must hold AccountName and AccountKey/,
    ],
    [
      "an endpoint that is not a URL",
      {
        AZURE_STORAGE_ACCOUNT: "mediaprod",
        AZURE_STORAGE_KEY: KEY,
        AZURE_BLOB_ENDPOINT: "azurite:10000",
      },
      /AZURE_BLOB_ENDPOINT must be an http or https URL/,
    ],
    [
      "Entra ID over http",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_BLOB_ENDPOINT: "http://azurite:10000/mediaprod" },
      /AZURE_BLOB_ENDPOINT must be https with Entra ID/,
    ],
    [
      "a bad prefix",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_PREFIX: "a/../b" },
      /AZURE_PREFIX must be a key prefix/,
    ],
    [
      "a tiny buffer",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_BUFFER_SIZE: "64kb" },
      /AZURE_BUFFER_SIZE must be a size from 1mb to 4000mb/,
    ],
    [
      "a concurrency of 0",
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_CONCURRENCY: "0" },
      /AZURE_CONCURRENCY must be a whole number from 1 to 64/,
    ],
  ])("stops on %s, naming the variable", (_label, env, message) => {
    expect(problem(env)).toMatch(message);
  });

  it("never echoes a key, SAS token or connection string", () => {
    const secret = "c2VjcmV0LWtleS1tYXRlcmlhbA";
    const secrets: Record<string, string>[] = [
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_STORAGE_KEY: `${secret}!` },
      { AZURE_STORAGE_ACCOUNT: "mediaprod", AZURE_STORAGE_SAS_TOKEN: `sp=r&x=${secret}` },
      { AZURE_STORAGE_CONNECTION_STRING: `AccountKey=${secret}==;EndpointSuffix=core.windows.net` },
    ];
    for (const env of secrets) {
      expect(problem(env)).not.toContain(secret);
    }
  });
});
