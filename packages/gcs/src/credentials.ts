import { StorageError } from "@mediagate/core";

/** A Google credentials JSON document: a service-account key, or any type ADC understands. */
export interface GoogleCredentials {
  type?: string;
  client_email?: string;
  private_key?: string;
  [field: string]: unknown;
}

const fail = (why: string) =>
  new StorageError("InvalidArgument", `GCS credentials: ${why}.`, { operation: "configure" });

/**
 * Inline credentials as operators pass them (GCS_CREDENTIALS): the key file's JSON as is,
 * or base64 of it (which survives env files, Kubernetes secrets and CI variables unmangled).
 * The error never echoes the input: it is a secret.
 */
export function parseCredentials(input: string | GoogleCredentials): GoogleCredentials {
  if (typeof input !== "string") return checkShape(input);
  const text = input.trim();
  if (text === "") throw fail("the value is empty");
  const json = text.startsWith("{") ? text : decodeBase64(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw fail(
      text.startsWith("{")
        ? "the value is not valid JSON"
        : "the base64 value does not decode to JSON",
    );
  }
  return checkShape(parsed);
}

function decodeBase64(text: string): string {
  if (!/^[A-Za-z0-9+/_\s-]+=*\s*$/.test(text))
    throw fail("the value is neither JSON nor base64-encoded JSON");
  return Buffer.from(text.replace(/\s+/g, ""), "base64").toString("utf8");
}

function checkShape(value: unknown): GoogleCredentials {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fail("expected a JSON object (a key file's contents)");
  }
  const credentials = value as GoogleCredentials;
  if (
    credentials.type === "service_account" &&
    (!credentials.client_email || !credentials.private_key)
  ) {
    throw fail("a service-account key needs client_email and private_key");
  }
  return credentials;
}

/** Whether these credentials carry a private key, so URLs can be signed locally. */
export function canSignLocally(credentials: GoogleCredentials): boolean {
  return (
    typeof credentials.client_email === "string" && typeof credentials.private_key === "string"
  );
}
