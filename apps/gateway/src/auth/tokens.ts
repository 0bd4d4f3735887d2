import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * The accepted upload tokens (several at once, so they can be rotated). Comparison hashes
 * both sides first, so it takes the same time whatever the candidate's length or how much of
 * it matches, and always checks every token rather than stopping at the first match.
 */
export class TokenVerifier {
  readonly #digests: Buffer[];

  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error("TokenVerifier needs at least one token.");
    this.#digests = tokens.map(digest);
  }

  verify(candidate: unknown): boolean {
    if (typeof candidate !== "string" || candidate.length === 0) return false;
    const given = digest(candidate);
    let match = false;
    for (const expected of this.#digests) match = timingSafeEqual(given, expected) || match;
    return match;
  }
}

/** A token for a run without AUTH_TOKENS: 256 random bits, hex so it pastes anywhere. */
export function generateToken(): string {
  return randomBytes(32).toString("hex");
}
