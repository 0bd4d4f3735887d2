import type { Request } from "express";
import { HttpError } from "../http/errors.ts";
import { TokenVerifier } from "./tokens.ts";

/** What an upload presents to be let in: the token and the fields it vouches for. */
export interface AuthRequest {
  auth: string;
  uid: string;
  mid: string;
  source: string;
}

/**
 * One way of deciding whether an upload may reach storage (AUTH_MODE). Both methods answer
 * with the refusal, or undefined to let the upload in.
 */
export interface Authenticator {
  /**
   * A verdict from the token alone, before the other fields arrive; undefined when the mode
   * needs them. Lets a wrong shared token be refused before anything else is revealed.
   */
  screen(token: unknown): HttpError | undefined;
  /** The full decision; may ask another service, so it is asynchronous. */
  authenticate(request: AuthRequest): Promise<HttpError | undefined>;
}

export const unauthorized = (message = "The auth token is not accepted.") =>
  new HttpError("UNAUTHORIZED", message);

/** AUTH_MODE=tokens: one of the shared AUTH_TOKENS, whoever the uploader is. */
export function sharedTokenAuthenticator(tokens: readonly string[]): Authenticator {
  const verifier = new TokenVerifier(tokens);
  const screen = (token: unknown) => (verifier.verify(token) ? undefined : unauthorized());
  return { screen, authenticate: (request) => Promise.resolve(screen(request.auth)) };
}

const decisions = new WeakMap<Request, { key: string; decision: Promise<HttpError | undefined> }>();

/**
 * The decision for this request's fields, asked once: the engine decides before a file is
 * stored and the route confirms after the form ends, with the same fields, so a webhook is
 * called once per upload.
 */
export function authenticateOnce(
  req: Request,
  authenticator: Authenticator,
  request: AuthRequest,
): Promise<HttpError | undefined> {
  const key = JSON.stringify([request.auth, request.uid, request.mid, request.source]);
  const known = decisions.get(req);
  if (known?.key === key) return known.decision;
  const decision = authenticator.authenticate(request);
  decisions.set(req, { key, decision });
  return decision;
}
