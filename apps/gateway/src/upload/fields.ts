import type { Authenticator } from "../auth/authenticator.ts";
import { HttpError } from "../http/errors.ts";

/** What the client said about the file, validated; kept as object metadata. */
export interface UploadFields {
  uid: string;
  mid: string;
  source: string;
}

export type FieldsCheck =
  | { state: "ready"; fields: UploadFields; auth: string }
  /** Some field has not arrived yet; nothing present so far is wrong. */
  | { state: "incomplete" }
  | { state: "invalid"; error: HttpError };

/** mesibo user and message ids are unsigned 64-bit integers at most. */
const ID = /^\d{1,20}$/;
/** mesibo names the file's purpose with a short word or number ("message", "profile", 1…). */
const SOURCE = /^[A-Za-z0-9_-]{1,32}$/;

const VALIDATED = [
  ["uid", ID, "INVALID_UID", "uid must be a mesibo user id (digits)."],
  ["mid", ID, "INVALID_MID", "mid must be a mesibo message id (digits)."],
  ["source", SOURCE, "INVALID_SOURCE", "source must be 1 to 32 letters, digits, '-' or '_'."],
] as const;

/**
 * Checks the form fields received so far, in the order that reveals least: the token first
 * (an unauthenticated client learns nothing else), then `op`, then the rest. With
 * `final: false` a missing field is "not yet" rather than an error, which is what lets a
 * file part that arrives before the fields be handled without trusting field order.
 * A field sent twice arrives as an array and is refused. "ready" means well-formed and not
 * refused by the token alone (`screen`); the caller still authenticates the whole set.
 */
export function checkFields(
  body: Record<string, unknown> | undefined,
  auth: Pick<Authenticator, "screen">,
  { final }: { final: boolean },
): FieldsCheck {
  const fields = body ?? {};
  let incomplete = false;

  if (fields.auth === undefined) {
    if (final) return invalid("UNAUTHORIZED", "The auth field is missing.");
    incomplete = true;
  } else {
    // Only what the token alone decides (a shared token); the rest once every field is in.
    const refusal = auth.screen(fields.auth);
    if (refusal) return { state: "invalid", error: refusal };
  }

  if (fields.op === undefined) {
    if (final) return invalid("UNKNOWN_OP", "The op field is missing; mesibo sends op=upload.");
    incomplete = true;
  } else if (fields.op !== "upload") {
    // Not before the token checks out: an unauthenticated client learns nothing.
    if (incomplete) return { state: "incomplete" };
    return invalid("UNKNOWN_OP", "Unknown op; only op=upload is supported.");
  }

  const values: Partial<UploadFields> = {};
  for (const [name, pattern, code, message] of VALIDATED) {
    const value = fields[name];
    if (value === undefined) {
      if (final) return invalid(code, `${name} is missing. ${message}`);
      incomplete = true;
    } else if (typeof value !== "string" || !pattern.test(value)) {
      if (incomplete) return { state: "incomplete" };
      return invalid(code, message);
    } else {
      values[name] = value;
    }
  }
  if (incomplete) return { state: "incomplete" };
  return { state: "ready", fields: values as UploadFields, auth: fields.auth as string };
}

function invalid(code: HttpError["code"], message: string): FieldsCheck {
  return { state: "invalid", error: new HttpError(code, message) };
}
