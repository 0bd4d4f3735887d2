import { looksLikeUploadToken, verifyUploadToken } from "@mediagate/tokens";
import { HttpError } from "../http/errors.ts";
import { allow, refuse, unauthorized, type Authenticator } from "./authenticator.ts";

/**
 * AUTH_MODE=signed: per-user HMAC tokens minted by the app's server (`@mediagate/tokens`),
 * valid only for the uid they name and only until they expire. Every secret in
 * AUTH_SIGNING_SECRETS is tried (in constant time) so a rotated-out secret keeps working
 * until it is removed. An upload without a uid is stored under the token's.
 */
export function signedTokenAuthenticator(secrets: readonly string[]): Authenticator {
  if (secrets.length === 0) throw new Error("signed tokens need at least one secret.");
  return {
    // The uid is needed to decide; only a token that cannot be one is refused this early.
    screen: (token) =>
      typeof token === "string" && looksLikeUploadToken(token) ? undefined : unauthorized(),
    authenticate: ({ auth, uid }) => {
      const result = verifyUploadToken(auth, { secrets, uid });
      if (result.ok) return Promise.resolve(allow(result.claims.uid));
      if (result.reason === "expired") {
        return Promise.resolve(
          refuse(new HttpError("TOKEN_EXPIRED", "The auth token has expired; get a new one.")),
        );
      }
      // One answer for a forged token and a token of another user: nothing to probe.
      return Promise.resolve(refuse(unauthorized()));
    },
  };
}
