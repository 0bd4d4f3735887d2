import type { Authenticator } from "../auth/authenticator.ts";
import { HttpError } from "../http/errors.ts";

/** What the client said about the file, validated; kept as object metadata. */
export interface UploadFields {
  /** Absent when the client sent none (mesibo's Swift sample) and no token names one. */
  uid: string | undefined;
  mid: string;
  /** mesibo's source code or word; "99" (unknown) when the client sent none. */
  source: string;
}

export type FieldsCheck =
  | { state: "ready"; fields: UploadFields; auth: string }
  /** Some field has not arrived yet; nothing present so far is wrong. */
  | { state: "incomplete" }
  | { state: "invalid"; error: HttpError };

/** mesibo user and message ids are unsigned 64-bit integers at most. */
const ID = /^\d{1,20}$/;
/** mesibo names the file's purpose with a number (0 message … 100 custom) or a short word. */
const SOURCE = /^[A-Za-z0-9_-]{1,32}$/;
/** mesibo's code for "unknown", recorded when a client sends no source. */
export const UNKNOWN_SOURCE = "99";

/**
 * mesibo's native form encoder percent-encodes every field value (space as `+`); curl and
 * browsers send them raw. A value that does not check out as sent is tried once decoded;
 * undefined when decoding would change nothing or the escapes are malformed.
 */
export function percentDecoded(value: string): string | undefined {
  if (!/[%+]/.test(value)) return undefined;
  try {
    const decoded = decodeURIComponent(value.replaceAll("+", " "));
    return decoded === value ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/** The value as sent, or decoded, whichever matches `pattern`; undefined when neither. */
function matching(value: unknown, pattern: RegExp): string | undefined {
  if (typeof value !== "string") return undefined;
  if (pattern.test(value)) return value;
  const decoded = percentDecoded(value);
  return decoded !== undefined && pattern.test(decoded) ? decoded : undefined;
}

/**
 * The token: `auth`, or `token` as mesibo's Android sample names it. Both present and
 * different is a malformed form, not a choice the gateway makes.
 */
function tokenField(fields: Record<string, unknown>): unknown {
  const { auth, token } = fields;
  if (auth !== undefined && token !== undefined && auth !== token) {
    return new HttpError("BAD_REQUEST", "The auth and token fields disagree; send one of them.");
  }
  return auth ?? token;
}

/**
 * Checks the form fields received so far, in the order that reveals least: the token first
 * (an unauthenticated client learns nothing else), then `op`, then the rest. With
 * `final: false` a missing required field is "not yet" rather than an error, which is what
 * lets a file part that arrives before the fields be handled without trusting field order.
 * `uid` and `source` are optional: when the file arrives they count as not sent. A field
 * sent twice arrives as an array and is refused; unknown fields (`profile`) are ignored.
 * "ready" means well-formed and not refused by the token alone; the store step still
 * authenticates the whole set.
 */
export function checkFields(
  body: Record<string, unknown> | undefined,
  auth: Pick<Authenticator, "screen">,
  { final }: { final: boolean },
): FieldsCheck {
  const fields = body ?? {};
  let incomplete = false;

  const token = tokenField(fields);
  if (token instanceof HttpError) return { state: "invalid", error: token };
  if (token === undefined) {
    if (final) return invalid("UNAUTHORIZED", "The auth field is missing.");
    incomplete = true;
  } else {
    // Only what the token alone decides (a shared token); the rest once every field is in.
    const refusal = auth.screen(token);
    if (refusal) return { state: "invalid", error: refusal };
  }

  const op = fields.op === undefined ? undefined : matching(fields.op, /^upload$/);
  if (fields.op === undefined) {
    if (final) return invalid("UNKNOWN_OP", "The op field is missing; mesibo sends op=upload.");
    incomplete = true;
  } else if (op === undefined) {
    // Not before the token checks out: an unauthenticated client learns nothing.
    if (incomplete) return { state: "incomplete" };
    return invalid("UNKNOWN_OP", "Unknown op; only op=upload is supported.");
  }

  const mid = matching(fields.mid, ID);
  if (fields.mid === undefined) {
    if (final)
      return invalid("INVALID_MID", "mid is missing. mid must be a mesibo message id (digits).");
    incomplete = true;
  } else if (mid === undefined) {
    if (incomplete) return { state: "incomplete" };
    return invalid("INVALID_MID", "mid must be a mesibo message id (digits).");
  }
  if (incomplete) return { state: "incomplete" };

  const uid = fields.uid === undefined ? undefined : matching(fields.uid, ID);
  if (fields.uid !== undefined && uid === undefined) {
    return invalid("INVALID_UID", "uid must be a mesibo user id (digits).");
  }
  const source = fields.source === undefined ? UNKNOWN_SOURCE : matching(fields.source, SOURCE);
  if (source === undefined) {
    return invalid("INVALID_SOURCE", "source must be 1 to 32 letters, digits, '-' or '_'.");
  }
  return {
    state: "ready",
    fields: { uid, mid: mid as string, source },
    auth: token as string,
  };
}

function invalid(code: HttpError["code"], message: string): FieldsCheck {
  return { state: "invalid", error: new HttpError(code, message) };
}

/** Whether two checks of one form name the same token and fields. */
export function sameFields(
  a: { auth: string; fields: UploadFields },
  b: { auth: string; fields: UploadFields },
): boolean {
  return (
    a.auth === b.auth &&
    a.fields.uid === b.fields.uid &&
    a.fields.mid === b.fields.mid &&
    a.fields.source === b.fields.source
  );
}
