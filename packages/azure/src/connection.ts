import {
  AnonymousCredential,
  ContainerClient,
  StorageSharedKeyCredential,
  type StoragePipelineOptions,
} from "@azure/storage-blob";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { StorageError } from "@mediagate/core";
import {
  accountNameProblem,
  connectionStringProblem,
  containerNameProblem,
  endpointProblem,
  sasTokenProblem,
} from "./rules.ts";
import { ServiceSasSigner, UserDelegationSasSigner, type UrlSigner } from "./signing.ts";

interface ContainerTarget {
  /** The container objects live in (3–63 lowercase letters, digits, hyphens). */
  container: string;
  /** Options for the SDK's HTTP pipeline: retries, proxy, keep-alive, user agent. */
  pipeline?: StoragePipelineOptions;
}

interface AccountTarget extends ContainerTarget {
  accountName: string;
  /**
   * The account's blob endpoint when it is not `https://<account>.blob.core.windows.net`:
   * Azurite (`http://127.0.0.1:10000/devstoreaccount1`), sovereign clouds, private endpoints.
   */
  endpoint?: string;
}

/** Forbids the fields of the other connection kinds, so exactly one kind type-checks. */
type Only<T, Others> = T & { [K in Exclude<keyof Others, keyof T>]?: never };
type AllFields = ConnectionStringConnection &
  SharedKeyConnection &
  SasConnection &
  EntraIdConnection &
  ContainerClientConnection;

export interface ConnectionStringConnection extends ContainerTarget {
  /** `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…` or a SAS connection string. */
  connectionString: string;
}
export interface SharedKeyConnection extends AccountTarget {
  accountKey: string;
}
export interface SasConnection extends AccountTarget {
  /** An account or container SAS token, with or without the leading `?`. */
  sasToken: string;
}
export interface EntraIdConnection extends AccountTarget {
  /**
   * Any Entra ID credential. Leave it out for `DefaultAzureCredential` (managed identity,
   * workload identity, environment, Azure CLI login…), loaded on first use.
   */
  credential?: TokenCredential;
}
export interface ContainerClientConnection {
  /** A client you built yourself; signing depends on the credential it carries. */
  containerClient: ContainerClient;
}

/** How the adapter reaches its container: exactly one of these. */
export type AzureBlobConnection =
  | Only<ConnectionStringConnection, AllFields>
  | Only<SharedKeyConnection, AllFields>
  | Only<SasConnection, AllFields>
  | Only<EntraIdConnection, AllFields>
  | Only<ContainerClientConnection, AllFields>;

export type AzureCredentialKind =
  "connection-string" | "shared-key" | "sas-token" | "entra-id" | "container-client";

export interface ResolvedConnection {
  kind: AzureCredentialKind;
  containerClient: ContainerClient;
  /** Undefined when the credentials cannot sign URLs (SAS tokens, anonymous clients). */
  signer: UrlSigner | undefined;
}

const configError = (message: string, cause?: unknown) =>
  new StorageError("InvalidArgument", message, { operation: "configure", cause });

/**
 * Builds the container client for whichever credential kind the options name, and works out
 * from the credential the client ends up with whether (and how) URLs can be signed.
 */
export function resolveConnection(options: AzureBlobConnection): ResolvedConnection {
  const fields = options as Partial<AllFields>;
  const given = (
    ["connectionString", "accountKey", "sasToken", "credential", "containerClient"] as const
  ).filter((field) => fields[field] !== undefined);
  if (given.length > 1) {
    throw configError(`Give only one way to authenticate; got ${given.join(" and ")}.`);
  }

  if (fields.containerClient) {
    const client = fields.containerClient;
    return { kind: "container-client", containerClient: client, signer: signerFor(client) };
  }

  const container = checkedContainer(fields.container);
  if (fields.connectionString !== undefined) {
    if (fields.accountName !== undefined || fields.endpoint !== undefined) {
      throw configError(
        "A connection string already names the account and its endpoint (AccountName=, BlobEndpoint=); do not also give accountName or endpoint.",
      );
    }
    const client = fromConnectionString(fields.connectionString, container, fields.pipeline);
    return {
      kind: "connection-string",
      containerClient: client,
      signer: signerFor(client, fields.pipeline),
    };
  }

  const accountName = checkedAccountName(fields.accountName);
  const accountUrl = checkedEndpoint(fields.endpoint, accountName);
  const containerUrl = `${accountUrl}/${container}`;
  if (fields.accountKey !== undefined) {
    if (fields.accountKey.trim() === "") throw configError("The account key is empty.");
    const credential = new StorageSharedKeyCredential(accountName, fields.accountKey.trim());
    const client = new ContainerClient(containerUrl, credential, fields.pipeline);
    return {
      kind: "shared-key",
      containerClient: client,
      signer: new ServiceSasSigner(credential),
    };
  }
  if (fields.sasToken !== undefined) {
    const client = new ContainerClient(
      `${containerUrl}?${checkedSasToken(fields.sasToken)}`,
      new AnonymousCredential(),
      fields.pipeline,
    );
    // A SAS token is itself a secret: handing it out in URLs would leak write access.
    return { kind: "sas-token", containerClient: client, signer: undefined };
  }
  if (!accountUrl.startsWith("https:")) {
    throw configError(
      `Entra ID tokens are only ever sent over https, and the endpoint ${accountUrl} is not https.`,
    );
  }
  const credential = fields.credential ?? lazyDefaultAzureCredential();
  const client = new ContainerClient(containerUrl, credential, fields.pipeline);
  return {
    kind: "entra-id",
    containerClient: client,
    signer: new UserDelegationSasSigner(accountUrl, accountName, credential, fields.pipeline),
  };
}

function checkedContainer(container: string | undefined): string {
  if (typeof container !== "string" || container === "")
    throw configError("A container name is required.");
  const problem = containerNameProblem(container);
  if (problem) throw configError(`Container name "${container}" ${problem}.`);
  return container;
}

function checkedAccountName(accountName: string | undefined): string {
  if (typeof accountName !== "string" || accountName === "") {
    throw configError(
      "An account name is required (or a connection string, or a container client).",
    );
  }
  const problem = accountNameProblem(accountName);
  if (problem) throw configError(`Storage account name "${accountName}" ${problem}.`);
  return accountName;
}

/** The account URL without a trailing slash. */
function checkedEndpoint(endpoint: string | undefined, accountName: string): string {
  if (endpoint === undefined) return `https://${accountName}.blob.core.windows.net`;
  const problem = endpointProblem(endpoint);
  if (problem) throw configError(`The blob endpoint "${endpoint}" ${problem}.`);
  return new URL(endpoint).toString().replace(/\/+$/, "");
}

function checkedSasToken(token: string): string {
  const problem = sasTokenProblem(token);
  if (problem) throw configError(`The SAS token ${problem}.`);
  return token.trim().replace(/^\?/, "");
}

function fromConnectionString(
  connectionString: string,
  container: string,
  pipeline: StoragePipelineOptions | undefined,
): ContainerClient {
  const value = connectionString.trim();
  if (value === "") throw configError("The connection string is empty.");
  const problem = connectionStringProblem(value);
  if (problem) throw configError(`The connection string ${problem}.`);
  try {
    return new ContainerClient(value, container, pipeline);
  } catch (err) {
    // The SDK's message names the missing part but echoes nothing secret.
    throw configError(`The connection string is not usable: ${(err as Error).message}`, err);
  }
}

function isTokenCredential(credential: unknown): credential is TokenCredential {
  return typeof (credential as Partial<TokenCredential> | undefined)?.getToken === "function";
}

/** Which signer the credential inside a client allows. */
function signerFor(
  client: ContainerClient,
  pipeline?: StoragePipelineOptions,
): UrlSigner | undefined {
  const credential = client.credential;
  if (credential instanceof StorageSharedKeyCredential) return new ServiceSasSigner(credential);
  if (isTokenCredential(credential)) {
    return new UserDelegationSasSigner(
      accountUrlOf(client.url),
      client.accountName,
      credential,
      pipeline,
    );
  }
  return undefined;
}

/** `https://acct.blob.core.windows.net/container?sas` → `https://acct.blob.core.windows.net`. */
export function accountUrlOf(containerUrl: string): string {
  const url = new URL(containerUrl);
  url.search = "";
  url.hash = "";
  url.pathname = url.pathname.replace(/\/+$/, "").replace(/\/[^/]*$/, "");
  return url.toString().replace(/\/+$/, "");
}

/**
 * DefaultAzureCredential, imported on the first token request: @azure/identity (and MSAL
 * behind it) is only loaded by deployments that use Entra ID.
 */
function lazyDefaultAzureCredential(): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(
      scopes: string | string[],
      options?: GetTokenOptions,
    ): Promise<AccessToken | null> {
      credential ??= import("@azure/identity").then(
        ({ DefaultAzureCredential }) => new DefaultAzureCredential(),
      );
      return (await credential).getToken(scopes, options);
    },
  };
}
