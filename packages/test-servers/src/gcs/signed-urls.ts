import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { XmlApiError } from "./errors.ts";
import type { Exchange } from "./http.ts";

/** The longest a V4 signature may be valid, per the signing documentation. */
const MAX_EXPIRES_SECONDS = 7 * 24 * 60 * 60;

/** RFC 3986 encoding, as V4 canonical query strings use it. */
const encodeRfc3986 = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

function parseGoogDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/**
 * Verifies a V4 (`GOOG4-RSA-SHA256`) signed URL against the public keys of the service
 * accounts registered with the server: the canonical request, the string to sign, the
 * credential scope, and the validity window. Throws the XML API's error otherwise.
 */
export class V4Verifier {
  private readonly keys = new Map<string, KeyObject>();

  addSigner(clientEmail: string, publicKey: string | KeyObject): void {
    this.keys.set(
      clientEmail,
      typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey,
    );
  }

  verify({ req, url }: Exchange, now = new Date()): void {
    const q = url.searchParams;
    const algorithm = q.get("X-Goog-Algorithm");
    const credential = q.get("X-Goog-Credential");
    const date = q.get("X-Goog-Date");
    const expires = q.get("X-Goog-Expires");
    const signedHeaders = q.get("X-Goog-SignedHeaders");
    const signature = q.get("X-Goog-Signature");
    if (!algorithm && !signature) {
      throw new XmlApiError(
        403,
        "AccessDenied",
        "Anonymous caller does not have storage.objects.get access.",
      );
    }
    if (!algorithm || !credential || !date || !expires || !signedHeaders || !signature) {
      throw new XmlApiError(
        400,
        "AuthorizationQueryParametersError",
        "Query-string authentication version 4 requires the X-Goog-Algorithm, X-Goog-Credential, X-Goog-Date, X-Goog-Expires, X-Goog-SignedHeaders and X-Goog-Signature parameters.",
      );
    }
    if (algorithm !== "GOOG4-RSA-SHA256") {
      throw new XmlApiError(
        400,
        "AuthorizationQueryParametersError",
        `Unsupported algorithm ${algorithm}.`,
      );
    }
    const signedAt = parseGoogDate(date);
    const seconds = Number(expires);
    if (!signedAt || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRES_SECONDS) {
      throw new XmlApiError(
        400,
        "AuthorizationQueryParametersError",
        "Invalid X-Goog-Date or X-Goog-Expires.",
      );
    }
    if (now.getTime() > signedAt.getTime() + seconds * 1000) {
      throw new XmlApiError(400, "ExpiredToken", "Invalid argument: the signed URL has expired.");
    }
    const [email, scopeDate, location, service, requestType] = credential.split("/");
    if (
      !email ||
      location === undefined ||
      service !== "storage" ||
      requestType !== "goog4_request" ||
      scopeDate !== date.slice(0, 8)
    ) {
      throw new XmlApiError(
        400,
        "AuthorizationQueryParametersError",
        "Malformed X-Goog-Credential.",
      );
    }
    const key = this.keys.get(email);
    if (!key) throw new XmlApiError(403, "AccessDenied", `Unknown service account ${email}.`);

    const canonicalQuery = [...q.entries()]
      .filter(([k]) => k !== "X-Goog-Signature")
      .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join("&");
    const headerNames = signedHeaders.split(";");
    if (!headerNames.includes("host")) {
      throw new XmlApiError(
        400,
        "AuthorizationQueryParametersError",
        "The host header must be signed.",
      );
    }
    const canonicalHeaders = headerNames
      .map((name) => {
        let value = req.headers[name];
        // Signers sign the host name without a port (GCS is always on the default port);
        // the test server listens on another one, so the port is not part of the comparison.
        if (name === "host" && typeof value === "string") value = value.replace(/:\d+$/, "");
        const text = Array.isArray(value) ? value.join(",") : (value ?? "");
        return `${name}:${text.trim().replace(/\s+/g, " ")}\n`;
      })
      .join("");
    // The path exactly as the client sent it: the signer signed its own encoding of it.
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const canonicalRequest = [
      req.method,
      path,
      canonicalQuery,
      canonicalHeaders,
      signedHeaders,
      "UNSIGNED-PAYLOAD",
    ].join("\n");
    const scope = credential.slice(email.length + 1);
    const stringToSign = [
      "GOOG4-RSA-SHA256",
      date,
      scope,
      createHash("sha256").update(canonicalRequest).digest("hex"),
    ].join("\n");
    const ok =
      /^[0-9a-f]+$/i.test(signature) &&
      verify("RSA-SHA256", Buffer.from(stringToSign), key, Buffer.from(signature, "hex"));
    if (!ok) {
      throw new XmlApiError(
        403,
        "SignatureDoesNotMatch",
        "Access denied. The request signature we calculated does not match the signature you provided.",
      );
    }
  }
}
