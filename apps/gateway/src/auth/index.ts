import type { Logger } from "pino";
import type { GatewayConfig } from "../config/load.ts";
import { sharedTokenAuthenticator, type Authenticator } from "./authenticator.ts";
import { signedTokenAuthenticator } from "./signed.ts";
import { webhookAuthenticator } from "./webhook.ts";

/** The authenticator AUTH_MODE selects. */
export function createAuthenticator(
  config: Pick<GatewayConfig, "authMode" | "authTokens" | "authSigningSecrets" | "authWebhook">,
  logger: Logger,
): Authenticator {
  switch (config.authMode) {
    case "tokens":
      return sharedTokenAuthenticator(config.authTokens);
    case "signed":
      return signedTokenAuthenticator(config.authSigningSecrets);
    case "webhook":
      if (!config.authWebhook) throw new Error("AUTH_MODE=webhook needs AUTH_WEBHOOK_URL.");
      return webhookAuthenticator(config.authWebhook, logger);
  }
}

export { authenticateOnce, type Authenticator, type AuthRequest } from "./authenticator.ts";
