import { StorageError } from "./errors.ts";

/** Longest key accepted, in UTF-8 bytes (S3's and GCS's limit is 1024). */
export const MAX_KEY_BYTES = 1024;
/** Longest segment accepted, in UTF-8 bytes (a file name on most filesystems). */
export const MAX_SEGMENT_BYTES = 255;

/**
 * A segment is letters, marks and digits of any script plus a few punctuation marks that
 * no backend, URL encoder or shell treats specially. Deliberately excluded: control
 * characters, `\ / ? # % * : " < > | [ ] { } ^ ~ \``, quotes, and `&;$` — each is a known
 * source of double-encoding, signature or traversal bugs somewhere.
 */
const SEGMENT_PATTERN = /^[\p{L}\p{M}\p{N}_\-+=@,.() !]+$/u;

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

/** Returns why `key` breaks the key rules, or undefined when it is valid. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== "string") return "must be a string";
  if (key.length === 0) return "must not be empty";
  if (utf8Length(key) > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  if (key !== key.normalize("NFC")) return "must be in Unicode NFC form";
  if (key.startsWith("/")) return "must not start with '/'";
  for (const segment of key.split("/")) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  return undefined;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "must not contain empty segments";
  if (segment.startsWith(".")) return "segments must not start with '.'";
  if (segment !== segment.trim()) return "segments must not start or end with a space";
  if (utf8Length(segment) > MAX_SEGMENT_BYTES) {
    return `segments must be at most ${MAX_SEGMENT_BYTES} bytes`;
  }
  if (!SEGMENT_PATTERN.test(segment)) return "contains a character that is not allowed";
  return undefined;
}

export function isValidKey(key: unknown): key is string {
  return keyProblem(key) === undefined;
}

/** Throws StorageError("InvalidKey") unless `key` follows the key rules. */
export function assertValidKey(key: unknown, operation?: string): asserts key is string {
  const problem = keyProblem(key);
  if (problem) {
    throw new StorageError("InvalidKey", `Invalid key ${JSON.stringify(key)}: ${problem}.`, {
      operation,
      key: typeof key === "string" ? key : undefined,
    });
  }
}

/**
 * A list prefix is the empty string, a valid key, or a valid key followed by "/". Anything
 * else could never match a stored key, so it is rejected rather than silently empty.
 */
export function assertValidPrefix(prefix: unknown, operation = "list"): asserts prefix is string {
  if (prefix === "") return;
  const body = typeof prefix === "string" && prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const problem = keyProblem(body);
  if (problem) {
    throw new StorageError("InvalidKey", `Invalid prefix ${JSON.stringify(prefix)}: ${problem}.`, {
      operation,
    });
  }
}

/**
 * An optional namespace inside a bucket ("tenant-a/media"), applied by adapters so callers
 * only ever see their own keys. The backend's name is prefix + key, and that whole name must
 * fit MAX_KEY_BYTES: `BaseAdapter` checks every key against `keyProblem` before any I/O, so
 * each adapter refuses an over-long name with InvalidKey instead of sending it to a backend
 * that would answer 400 (S3, Azure) or even 500 (GCS).
 */
export class KeyPrefix {
  readonly value: string;

  constructor(prefix = "") {
    const trimmed = prefix.replace(/^\/+|\/+$/g, "");
    if (trimmed !== "") assertValidKey(trimmed, "configure");
    this.value = trimmed === "" ? "" : `${trimmed}/`;
    // A prefix that leaves no room for even a one-byte key can only ever refuse writes.
    if (utf8Length(this.value) >= MAX_KEY_BYTES) {
      throw new StorageError(
        "InvalidKey",
        `Invalid prefix ${JSON.stringify(prefix)}: must be shorter than ${MAX_KEY_BYTES} bytes, leaving room for keys.`,
        { operation: "configure" },
      );
    }
  }

  /**
   * Why the backend name for `key` (a valid key or list prefix) would be too long, or
   * undefined when it fits.
   */
  keyProblem(key: string): string | undefined {
    const bytes = utf8Length(this.value) + utf8Length(key);
    if (bytes <= MAX_KEY_BYTES) return undefined;
    return `is ${bytes} bytes once the prefix ${JSON.stringify(this.value)} is added; at most ${MAX_KEY_BYTES} are allowed`;
  }

  /** Throws StorageError("InvalidKey") unless prefix + `key` fits MAX_KEY_BYTES. */
  assertFits(key: string, operation?: string): void {
    const problem = this.keyProblem(key);
    if (problem) {
      throw new StorageError("InvalidKey", `Invalid key ${JSON.stringify(key)}: ${problem}.`, {
        operation,
        key,
      });
    }
  }

  /** The backend's name for a caller's key; refuses (InvalidKey) a name that would not fit. */
  apply(key: string): string {
    this.assertFits(key);
    return this.value + key;
  }

  /** The caller's key for a backend name, or undefined when it lies outside the prefix. */
  strip(name: string): string | undefined {
    return name.startsWith(this.value) ? name.slice(this.value.length) : undefined;
  }
}
