import { LedgerError } from "./errors.ts";
import type { NewKey, NewRecord, PageRequest, QuotaLimits } from "./types.ts";

/** Checks run on the caller's side before any I/O; cheap, since they sit on the upload path. */

const MAX_KEY = 1024;
const MAX_ID = 256;
const MAX_NAME = 1024;
const MAX_ATTRIBUTES = 32;
const MAX_ATTRIBUTE_VALUE = 1024;
const SHA256 = /^[0-9a-f]{64}$/;
export const DEFAULT_LEASE_MS = 15 * 60 * 1000;
const DAY_MS = 86_400_000;

function invalid(operation: string, message: string): LedgerError {
  return new LedgerError("InvalidArgument", `${operation}: ${message}`, { operation });
}

export function text(op: string, what: string, value: unknown, max: number): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    throw invalid(op, `${what} must be a non-empty string of at most ${max} characters.`);
  }
  return value;
}

export const keyArg = (op: string, key: unknown) => text(op, "key", key, MAX_KEY);
export const uidArg = (op: string, uid: unknown) => text(op, "uid", uid, MAX_ID);
export const idArg = (op: string, what: string, id: unknown) => text(op, what, id, MAX_ID);

export function optionalUid(op: string, uid: unknown): string | null {
  return uid === null ? null : uidArg(op, uid);
}

export function count(op: string, what: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(op, `${what} must be a non-negative integer.`);
  }
  return value;
}

export function positive(op: string, what: string, value: unknown, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(op, `${what} must be an integer from 1 to ${max}.`);
  }
  return value;
}

export function time(op: string, what: string, value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(ms)) throw invalid(op, `${what} must be a valid Date.`);
  return ms;
}

/** The UTC day number of a time, the unit of daily quotas. */
export const dayOf = (ms: number) => Math.floor(ms / DAY_MS);

export function bytesArg(op: string, bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > 4096) {
    throw invalid(op, "wrapped key must be 1–4096 bytes.");
  }
  return bytes;
}

/** A record as both databases store it: times in epoch milliseconds, attributes as JSON. */
export interface RecordRow {
  key: string;
  backend: string;
  uid: string | null;
  mid: string | null;
  source: number;
  name: string;
  size: number;
  sha256: string;
  content_type: string;
  created_at: number;
  expires_at: number | null;
  attributes: string;
}

export function recordRow(r: NewRecord): RecordRow {
  const op = "record";
  if (typeof r !== "object" || r === null) throw invalid(op, "record must be an object.");
  if (typeof r.name !== "string" || r.name.length > MAX_NAME) {
    throw invalid(op, `name must be a string of at most ${MAX_NAME} characters.`);
  }
  if (typeof r.sha256 !== "string" || !SHA256.test(r.sha256)) {
    throw invalid(op, "sha256 must be 64 lowercase hex digits.");
  }
  if (!Number.isSafeInteger(r.source) || r.source < 0 || r.source > 65535) {
    throw invalid(op, "source must be an integer from 0 to 65535.");
  }
  return {
    key: keyArg(op, r.key),
    backend: text(op, "backend", r.backend, 64),
    uid: optionalUid(op, r.uid),
    mid: r.mid === null ? null : text(op, "mid", r.mid, MAX_ID),
    source: r.source,
    name: r.name,
    size: count(op, "size", r.size),
    sha256: r.sha256,
    content_type: text(op, "contentType", r.contentType, 255),
    created_at: time(op, "createdAt", r.createdAt),
    expires_at: r.expiresAt === null ? null : time(op, "expiresAt", r.expiresAt),
    attributes: attributesJson(r.attributes),
  };
}

function attributesJson(attributes: Record<string, string> | undefined): string {
  if (attributes === undefined) return "{}";
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    throw invalid("record", "attributes must be a string map.");
  }
  let n = 0;
  for (const name in attributes) {
    const value = attributes[name];
    if (++n > MAX_ATTRIBUTES || name.length === 0 || name.length > 64) {
      throw invalid("record", `attributes: at most ${MAX_ATTRIBUTES} names of 1–64 characters.`);
    }
    if (typeof value !== "string" || value.length > MAX_ATTRIBUTE_VALUE) {
      throw invalid("record", `attribute "${name}" must be a string of at most 1024 characters.`);
    }
  }
  return JSON.stringify(attributes);
}

/** Limits as both databases take them: -1 for "no limit". */
export interface LimitArgs {
  files_per_day: number;
  bytes_per_day: number;
  bytes_total: number;
}

export function limitArgs(op: string, limits: QuotaLimits): LimitArgs {
  if (typeof limits !== "object" || limits === null) throw invalid(op, "limits must be an object.");
  const one = (name: keyof QuotaLimits) =>
    limits[name] === undefined ? -1 : count(op, `limits.${name}`, limits[name]);
  return {
    files_per_day: one("filesPerDay"),
    bytes_per_day: one("bytesPerDay"),
    bytes_total: one("bytesTotal"),
  };
}

export function leaseArg(op: string, leaseMs: number | undefined): number {
  return leaseMs === undefined ? DEFAULT_LEASE_MS : positive(op, "leaseMs", leaseMs, 7 * DAY_MS);
}

export function newKeyArgs(
  op: string,
  key: NewKey,
): { wrapped: Uint8Array; master_key_id: string; created_at: number } {
  if (typeof key !== "object" || key === null) throw invalid(op, "key must be an object.");
  return {
    wrapped: bytesArg(op, key.wrapped),
    master_key_id: idArg(op, "masterKeyId", key.masterKeyId),
    created_at: time(op, "createdAt", key.createdAt),
  };
}

/** Keys are stored under one owner column: the shared key sorts before every uid's. */
export const keyOwner = (uid: string | null) => (uid === null ? "*" : `u:${uid}`);
export const ownerUid = (owner: string) => (owner === "*" ? null : owner.slice(2));

export const DEFAULT_PAGE = 100;

export function pageLimit(op: string, page: PageRequest | undefined): number {
  return page?.limit === undefined ? DEFAULT_PAGE : positive(op, "limit", page.limit, 1000);
}

/** Cursors are opaque to callers: base64url JSON of the last item's sort key. */
export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}

export function decodeCursor<T extends (string | number)[]>(
  op: string,
  cursor: string | null | undefined,
  shape: ("string" | "number")[],
): T | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(String(cursor), "base64url").toString("utf8"));
  } catch {
    parts = undefined;
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== shape.length ||
    parts.some((part, i) => typeof part !== shape[i])
  ) {
    throw invalid(op, "cursor is not one this ledger handed out.");
  }
  return parts as T;
}
