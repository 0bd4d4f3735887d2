import { timingSafeEqual } from "node:crypto";
import { BENCH_TOKEN } from "../gateway.ts";

const expected = Buffer.from(BENCH_TOKEN);

/**
 * The references check the form's `auth` field before they store a byte, as the gateway
 * does (a tutorial endpoint left open would be compared with one that is not): the token,
 * compared in constant time.
 */
export function authorized(fields: unknown): boolean {
  const auth = (fields as Record<string, unknown> | undefined)?.auth;
  if (typeof auth !== "string") return false;
  const given = Buffer.from(auth);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export class Unauthorized extends Error {
  readonly status = 401;
  constructor() {
    super("bad or missing auth token");
  }
}

/** The gateway's key shape: a dated folder, a random name, the file's extension. */
export function datedKey(name: string, extension: string): string {
  return `${new Date().toISOString().slice(0, 10)}/${name}${extension}`;
}
