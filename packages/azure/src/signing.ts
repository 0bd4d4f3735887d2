import {
  BlobSASPermissions,
  BlobServiceClient,
  SASProtocol,
  generateBlobSASQueryParameters,
  type BlobClient,
  type BlobSASSignatureValues,
  type StoragePipelineOptions,
  type StorageSharedKeyCredential,
  type UserDelegationKey,
} from "@azure/storage-blob";
import type { TokenCredential } from "@azure/identity";
import { MAX_SIGNED_URL_EXPIRY_SECONDS, type SignedUrlOptions } from "@mediagate/core";

/** Signs read-only URLs for single blobs; which kind depends on the credentials. */
export interface UrlSigner {
  readonly kind: "service-sas" | "user-delegation-sas";
  sign(blob: BlobClient, options: SignedUrlOptions): Promise<string>;
}

/** SAS start times are backdated so a server whose clock runs behind ours accepts them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Azure refuses a user delegation key whose expiry lies more than seven days after *its*
 * clock, so asking for exactly now + 7 days fails whenever our clock runs ahead of Azure's.
 * Keys are asked for this much less than seven days.
 */
export const DELEGATION_KEY_MARGIN_MS = 15 * 60 * 1000;

/** The validity to request a user delegation key for, at `now` (ms since the epoch). */
export function delegationKeyWindow(now: number): { startsOn: Date; expiresOn: Date } {
  return {
    startsOn: new Date(now - CLOCK_SKEW_MS),
    expiresOn: new Date(now + MAX_SIGNED_URL_EXPIRY_SECONDS * 1000 - DELEGATION_KEY_MARGIN_MS),
  };
}

/**
 * When a user-delegation SAS may expire: as asked, but never after the key that signs it
 * (Azure refuses such a SAS). Only a request for (nearly) the full seven days is shortened,
 * by at most DELEGATION_KEY_MARGIN_MS.
 */
export function delegationSasExpiry(requested: Date, keyExpiresOn: Date): Date {
  return requested.getTime() <= keyExpiresOn.getTime() ? requested : new Date(keyExpiresOn);
}

function signatureValues(
  blob: BlobClient,
  options: SignedUrlOptions,
  now: number,
): BlobSASSignatureValues {
  return {
    containerName: blob.containerName,
    blobName: blob.name,
    permissions: BlobSASPermissions.parse("r"),
    startsOn: new Date(now - CLOCK_SKEW_MS),
    expiresOn: new Date(now + options.expiresIn * 1000),
    contentType: options.contentType,
    contentDisposition: options.contentDisposition,
    // Plain http only where the account itself is plain http (Azurite); never downgrade Azure.
    protocol: blob.url.startsWith("https:") ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
  };
}

function withQuery(blob: BlobClient, query: string): string {
  const url = new URL(blob.url);
  url.search = query;
  return url.toString();
}

/** A service SAS signed locally with the account key: no request to Azure. */
export class ServiceSasSigner implements UrlSigner {
  readonly kind = "service-sas";
  readonly #credential: StorageSharedKeyCredential;

  constructor(credential: StorageSharedKeyCredential) {
    this.#credential = credential;
  }

  async sign(blob: BlobClient, options: SignedUrlOptions): Promise<string> {
    const values = signatureValues(blob, options, Date.now());
    return withQuery(blob, generateBlobSASQueryParameters(values, this.#credential).toString());
  }
}

/**
 * A user-delegation SAS: signed with a key Azure hands out to an Entra ID identity. Getting
 * the key takes `generateUserDelegationKey` at storage-account scope (Storage Blob Data
 * Contributor there, or Storage Blob Delegator beside a container-scoped role). Keys live at
 * most seven days, so one key is fetched for the longest span Azure reliably grants
 * (`delegationKeyWindow`) and reused while it covers the URL being signed; concurrent
 * signers share the same request.
 */
export class UserDelegationSasSigner implements UrlSigner {
  readonly kind = "user-delegation-sas";
  readonly #service: BlobServiceClient;
  readonly #accountName: string;
  #key: Promise<UserDelegationKey> | undefined;

  constructor(
    accountUrl: string,
    accountName: string,
    credential: TokenCredential,
    pipeline?: StoragePipelineOptions,
  ) {
    this.#service = new BlobServiceClient(accountUrl, credential, pipeline);
    this.#accountName = accountName;
  }

  async sign(blob: BlobClient, options: SignedUrlOptions): Promise<string> {
    const now = Date.now();
    const values = signatureValues(blob, options, now);
    const window = delegationKeyWindow(now);
    // A cached key is good enough when it covers the URL as far as a fresh one could.
    const needed = delegationSasExpiry(values.expiresOn as Date, window.expiresOn);
    const key = await this.#keyCovering(needed, window);
    values.expiresOn = delegationSasExpiry(needed, key.signedExpiresOn);
    const query = generateBlobSASQueryParameters(values, key, this.#accountName).toString();
    return withQuery(blob, query);
  }

  async #keyCovering(
    expiresOn: Date,
    window: { startsOn: Date; expiresOn: Date },
  ): Promise<UserDelegationKey> {
    const cached = await this.#key?.catch(() => undefined);
    if (cached && cached.signedExpiresOn.getTime() >= expiresOn.getTime()) return cached;
    const fetching: Promise<UserDelegationKey> = this.#service.getUserDelegationKey(
      window.startsOn,
      window.expiresOn,
    );
    this.#key = fetching;
    // A failed fetch must not stick: the next call asks again.
    fetching.catch(() => {
      if (this.#key === fetching) this.#key = undefined;
    });
    return fetching;
  }
}
