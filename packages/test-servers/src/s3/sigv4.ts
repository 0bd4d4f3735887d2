import { createHash, createHmac } from "node:crypto";

/**
 * An independent AWS Signature Version 4 check, written from AWS's published algorithm
 * ("Create a signed AWS API request", S3's "Authenticating Requests (AWS Signature Version
 * 4)"). s3rver accepts any V4 signature, so without this a client that signs one key and
 * sends another (the classic bug with spaces, `+` and non-ASCII keys) would pass its tests
 * and fail on every real S3.
 *
 * It verifies what the request carries on the wire: the raw path and query exactly as
 * received, re-canonicalized by S3's rules (each path segment decoded once and encoded
 * once, RFC 3986 unreserved characters kept).
 */

export interface SignedRequest {
  method: string;
  /** The request target exactly as received: raw path and query. */
  url: string;
  /** Node's `rawHeaders`: names and values alternating. */
  rawHeaders: string[];
}

export interface SigV4Problem {
  status: number;
  code: string;
  message: string;
}

export type SecretLookup = (accessKeyId: string) => string | undefined;

/** Seconds a SigV4 signature may live at most (seven days). */
const MAX_EXPIRES = 7 * 24 * 60 * 60;
/** How far a header-signed request's clock may be off, as on S3. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** RFC 3986 encoding of everything but unreserved characters, with uppercase hex. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

const sha256Hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: Buffer | string, data: string) =>
  createHmac("sha256", key).update(data, "utf8").digest();

interface Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  presigned: boolean;
  expires?: number;
}

function parseQuery(query: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = decode(eq < 0 ? "" : part.slice(eq + 1));
    if (name === undefined || value === undefined) return undefined;
    pairs.push([name, value]);
  }
  return pairs;
}

function headerMap(rawHeaders: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? "").toLowerCase();
    const values = map.get(name) ?? [];
    values.push(rawHeaders[i + 1] ?? "");
    map.set(name, values);
  }
  return map;
}

const problem = (status: number, code: string, message: string): SigV4Problem => ({
  status,
  code,
  message,
});

function parseCredential(credential: string) {
  const [accessKeyId, date, region, service, terminator] = credential.split("/");
  if (!accessKeyId || !date || !region || !service || terminator !== "aws4_request")
    return undefined;
  return { accessKeyId, date, region, service };
}

function readAuthorization(
  headers: Map<string, string[]>,
  query: [string, string][],
): Authorization | SigV4Problem | undefined {
  const q = new Map(query);
  const header = headers.get("authorization")?.[0];
  if (header !== undefined) {
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
        header.trim(),
      );
    const credential = match?.[1] && parseCredential(match[1]);
    const amzDate = headers.get("x-amz-date")?.[0];
    const payloadHash = headers.get("x-amz-content-sha256")?.[0];
    if (!match?.[2] || !match[3] || !credential || !amzDate || !payloadHash) {
      return problem(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.");
    }
    return {
      ...credential,
      signedHeaders: match[2].split(";"),
      signature: match[3],
      amzDate,
      payloadHash,
      presigned: false,
    };
  }
  if (q.get("X-Amz-Algorithm") !== undefined) {
    const credential = parseCredential(q.get("X-Amz-Credential") ?? "");
    const expires = Number(q.get("X-Amz-Expires"));
    const signedHeaders = q.get("X-Amz-SignedHeaders");
    const signature = q.get("X-Amz-Signature");
    const amzDate = q.get("X-Amz-Date");
    if (
      q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256" ||
      !credential ||
      !signedHeaders ||
      !signature ||
      !amzDate ||
      !Number.isInteger(expires)
    ) {
      return problem(
        400,
        "AuthorizationQueryParametersError",
        "Query-string authentication is malformed.",
      );
    }
    if (expires < 1 || expires > MAX_EXPIRES) {
      return problem(
        400,
        "AuthorizationQueryParametersError",
        "X-Amz-Expires must be less than a week (in seconds) that is 604800",
      );
    }
    return {
      ...credential,
      signedHeaders: signedHeaders.split(";"),
      signature,
      amzDate,
      payloadHash: q.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
      presigned: true,
      expires,
    };
  }
  return undefined;
}

function parseAmzDate(amzDate: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
}

/**
 * Returns undefined when the request is anonymous or correctly signed, and otherwise the
 * error S3 would answer with.
 */
export function verifySigV4(
  request: SignedRequest,
  secretFor: SecretLookup,
  now = Date.now(),
): SigV4Problem | undefined {
  const qIndex = request.url.indexOf("?");
  const rawPath = qIndex < 0 ? request.url : request.url.slice(0, qIndex);
  const rawQuery = qIndex < 0 ? "" : request.url.slice(qIndex + 1);
  const query = parseQuery(rawQuery);
  if (!query)
    return problem(400, "InvalidArgument", "The query string is not valid percent-encoding.");
  const headers = headerMap(request.rawHeaders);

  const auth = readAuthorization(headers, query);
  if (auth === undefined) return undefined;
  if ("code" in auth) return auth;

  const secret = secretFor(auth.accessKeyId);
  if (secret === undefined) {
    return problem(
      403,
      "InvalidAccessKeyId",
      "The AWS Access Key Id you provided does not exist in our records.",
    );
  }
  const time = parseAmzDate(auth.amzDate);
  if (time === undefined || !auth.amzDate.startsWith(auth.date)) {
    return problem(
      403,
      "AccessDenied",
      "X-Amz-Date is malformed or does not match the credential scope.",
    );
  }
  if (auth.presigned) {
    if (now > time + (auth.expires ?? 0) * 1000)
      return problem(403, "AccessDenied", "Request has expired");
  } else if (Math.abs(now - time) > MAX_SKEW_MS) {
    return problem(
      403,
      "RequestTimeTooSkewed",
      "The difference between the request time and the current time is too large.",
    );
  }

  const segments: string[] = [];
  for (const segment of rawPath.split("/")) {
    const decoded = decode(segment);
    if (decoded === undefined)
      return problem(400, "InvalidURI", "Couldn't parse the specified URI.");
    segments.push(uriEncode(decoded));
  }
  const canonicalQuery = query
    .filter(([name]) => !(auth.presigned && name === "X-Amz-Signature"))
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  if (!auth.signedHeaders.includes("host")) {
    return problem(403, "AccessDenied", "The host header must be signed.");
  }
  const canonicalHeaders = auth.signedHeaders
    .map((name) => {
      const values = headers.get(name) ?? [];
      return `${name}:${values.map((v) => v.trim().replace(/\s+/g, " ")).join(",")}\n`;
    })
    .join("");
  const canonicalRequest = [
    request.method,
    segments.join("/"),
    canonicalQuery,
    canonicalHeaders,
    auth.signedHeaders.join(";"),
    auth.payloadHash,
  ].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", auth.amzDate, scope, sha256Hex(canonicalRequest)].join(
    "\n",
  );
  const signingKey = [auth.date, auth.region, auth.service, "aws4_request"].reduce<Buffer | string>(
    (key, part) => hmac(key, part),
    `AWS4${secret}`,
  );
  const expected = hmac(signingKey, stringToSign).toString("hex");
  if (expected !== auth.signature) {
    return problem(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided.",
    );
  }
  return undefined;
}
