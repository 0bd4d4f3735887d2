import { createHmac, randomUUID } from "node:crypto";
import type { AccessToken, TokenCredential } from "@azure/identity";

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * An Entra ID credential without a tenant: it mints JWTs shaped like the ones Entra ID issues
 * for storage (issuer, audience, lifetime, object and tenant IDs), which Azurite's
 * `--oauth basic` mode checks. Counts the tokens it hands out.
 */
export class TestTokenCredential implements TokenCredential {
  readonly objectId = randomUUID();
  readonly tenantId = randomUUID();
  readonly scopesAsked: string[][] = [];

  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.scopesAsked.push(Array.isArray(scopes) ? scopes : [scopes]);
    const now = Math.floor(Date.now() / 1000);
    const header = base64url({ alg: "HS256", typ: "JWT" });
    const claims = base64url({
      aud: "https://storage.azure.com",
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: now - 60,
      nbf: now - 60,
      exp: now + 3600,
      oid: this.objectId,
      tid: this.tenantId,
    });
    const signature = createHmac("sha256", "test-only")
      .update(`${header}.${claims}`)
      .digest("base64url");
    return { token: `${header}.${claims}.${signature}`, expiresOnTimestamp: (now + 3600) * 1000 };
  }
}

/** Fails the way DefaultAzureCredential does on a machine with no identity at all. */
export class UnavailableCredential implements TokenCredential {
  async getToken(): Promise<AccessToken> {
    const error = new Error(
      "DefaultAzureCredential: no managed identity endpoint, no environment, no CLI login.",
    );
    error.name = "CredentialUnavailableError";
    throw error;
  }
}
