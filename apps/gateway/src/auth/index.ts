import type { Logger } from "pino";
import type { AuthConfig } from "../config/load.ts";
import {
  acceptingEncodedTokens,
  sharedTokenAuthenticator,
  type Authenticator,
} from "./authenticator.ts";
import { signedTokenAuthenticator } from "./signed.ts";
import { webhookAuthenticator } from "./webhook.ts";

/** The authenticator AUTH_MODE selects. */
export function createAuthenticator(config: AuthConfig, logger: Logger): Authenticator {
  return acceptingEncodedTokens(modeAuthenticator(config, logger));
}

function modeAuthenticator(config: AuthConfig, logger: Logger): Authenticator {
  switch (config.mode) {
    case "tokens":
      return sharedTokenAuthenticator(config.tokens);
    case "signed":
      return signedTokenAuthenticator(config.signingSecrets);
    case "webhook":
      if (!config.webhook) throw new Error("AUTH_MODE=webhook needs AUTH_WEBHOOK_URL.");
      return webhookAuthenticator(config.webhook, logger);
  }
}

export type { Authenticator, AuthRequest, AuthResult } from "./authenticator.ts";
