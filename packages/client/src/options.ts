import type { UploadError } from "./errors.ts";

/** mesibo ids are unsigned 64-bit: pass them as strings or bigints when they exceed 2^53. */
export type MesiboId = string | number | bigint;

export interface UploadProgress {
  /** Request-body bytes sent so far in this attempt (the file plus a few hundred of form). */
  loaded: number;
  /** The whole request body's size; the last event of a successful upload has loaded === total. */
  total: number;
  /** 1-based; a retry starts again from 0. */
  attempt: number;
}

export interface TokenRequest {
  /** 1-based attempt the token is for: each attempt asks again, so an expired one is renewed. */
  attempt: number;
  signal: AbortSignal;
}

export interface RetryInfo {
  /** The attempt about to be made (2 for the first retry). */
  attempt: number;
  delayMs: number;
  /** Why the previous attempt failed. */
  error: UploadError;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** First back-off ceiling; it doubles each retry, and the delay is drawn below it (default 500). */
  baseDelayMs?: number;
  /** Largest back-off ceiling (default 10 000). Retry-After is honoured even above it. */
  maxDelayMs?: number;
  /**
   * No retry starts once this long has passed since upload() began, nor is one scheduled to
   * start after it (default 60 000). An attempt in flight is never cut short by it.
   */
  maxElapsedMs?: number;
}

export interface UploadOptions {
  /** The gateway's upload URL, as given to Mesibo.setUploadUrl (e.g. https://media.example.com/upload). */
  url: string;
  /** The upload token. Give this or getToken. */
  token?: string;
  /** Asked before every attempt; wins over `token`. */
  getToken?: (request: TokenRequest) => string | Promise<string>;
  /** Sender's mesibo uid. Optional with signed tokens (the gateway reads it from the token). */
  uid?: MesiboId;
  /** mesibo message id. Without one, a random 32-bit id is sent, as mesibo assigns them. */
  mid?: MesiboId;
  /** What the file is for: 0 message, 1 profile picture, 2 group picture, 3 thumbnail… */
  source?: string | number;
  /** The name sent with the file part (default: the File's name, else "blob"). */
  fileName?: string;
  /** The file part's field name (default "file"). */
  fileField?: string;
  onProgress?: (progress: UploadProgress) => void;
  /** Called before each retry, after the delay has been chosen. */
  onRetry?: (info: RetryInfo) => void;
  signal?: AbortSignal;
  /** `false` makes a single attempt. */
  retry?: RetryOptions | false;
  /**
   * "auto" (default): XMLHttpRequest in browsers when onProgress is given, fetch otherwise.
   * "xhr" and "fetch" force one.
   */
  transport?: "auto" | "fetch" | "xhr";
  /** A fetch to use instead of the global one (e.g. one with a proxy agent in Node). */
  fetch?: typeof globalThis.fetch;
}

export interface UploadResult {
  /** The absolute download URL the gateway answered with. */
  url: string;
}
