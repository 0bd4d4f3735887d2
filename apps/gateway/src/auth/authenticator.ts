import { HttpError } from "../http/errors.ts";
import { percentDecoded } from "../upload/fields.ts";
import { TokenVerifier } from "./tokens.ts";

/** What an upload presents to be let in: the token and the fields it vouches for. */
export interface AuthRequest {
  auth: string;
  /** Absent when the client sent none; a signed token then names the uploader. */
  uid: string | undefined;
  mid: string;
  source: string;
}

/** A decision: the refusal, or the uid the upload is stored under (the token's, if it names one). */
export type AuthResult = { ok: true; uid: string | undefined } | { ok: false; error: HttpError };

/** One way of deciding whether an upload may reach storage (AUTH_MODE). */
export interface Authenticator {
  /**
   * A verdict from the token alone, before the other fields arrive; undefined when the mode
   * needs them. Lets a wrong shared token be refused before anything else is revealed.
   */
  screen(token: unknown): HttpError | undefined;
  /** The full decision; may ask another service, so it is asynchronous. */
  authenticate(request: AuthRequest): Promise<AuthResult>;
}

export const unauthorized = (message = "The auth token is not accepted.") =>
  new HttpError("UNAUTHORIZED", message);

export const allow = (uid: string | undefined): AuthResult => ({ ok: true, uid });
export const refuse = (error: HttpError): AuthResult => ({ ok: false, error });

/** AUTH_MODE=tokens: one of the shared AUTH_TOKENS, whoever the uploader is. */
export function sharedTokenAuthenticator(tokens: readonly string[]): Authenticator {
  const verifier = new TokenVerifier(tokens);
  const screen = (token: unknown) => (verifier.verify(token) ? undefined : unauthorized());
  return {
    screen,
    authenticate: (request) => {
      const refusal = screen(request.auth);
      return Promise.resolve(refusal ? refuse(refusal) : allow(request.uid));
    },
  };
}

/**
 * mesibo's native encoder percent-encodes the token (`Tok+a/b=` arrives as
 * `Tok%2Ba%2Fb%3D`), curl and browsers send it raw: a token refused as sent is tried once
 * more decoded. Each try is the mode's own constant-time check; the decoded value is what
 * signed tokens and the webhook then see.
 */
export function acceptingEncodedTokens(inner: Authenticator): Authenticator {
  return {
    screen(token) {
      const refusal = inner.screen(token);
      const decoded = refusal && typeof token === "string" ? percentDecoded(token) : undefined;
      return decoded === undefined ? refusal : inner.screen(decoded);
    },
    async authenticate(request) {
      const result = await inner.authenticate(request);
      const decoded = result.ok ? undefined : percentDecoded(request.auth);
      if (result.ok || decoded === undefined || result.error.code !== "UNAUTHORIZED") {
        return result;
      }
      return inner.authenticate({ ...request, auth: decoded });
    },
  };
}
