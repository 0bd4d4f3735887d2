import type { ServerResponse } from "node:http";

/** The `reason` GCS puts in `errors[].reason` for each status the server answers. */
const REASONS: Record<number, string> = {
  400: "invalid",
  401: "required",
  403: "forbidden",
  404: "notFound",
  409: "conflict",
  410: "gone",
  412: "conditionNotMet",
  416: "requestedRangeNotSatisfiable",
  429: "rateLimitExceeded",
  499: "clientClosedRequest",
  500: "internalError",
  503: "backendError",
};

/** A JSON API failure: thrown by handlers, answered in the documented error body shape. */
export class GcsApiError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, message: string, reason = REASONS[status] ?? "unknown") {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/** `{"error":{"code","message","errors":[{"message","domain","reason"}]}}`, as GCS answers. */
export function errorBody(status: number, message: string, reason = REASONS[status] ?? "unknown") {
  return { error: { code: status, message, errors: [{ message, domain: "global", reason }] } };
}

export function sendJsonError(res: ServerResponse, err: GcsApiError): void {
  sendJson(res, err.status, errorBody(err.status, err.message, err.reason));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** The XML API (signed URL downloads) answers errors as `<Error><Code>…</Code>…</Error>`. */
export class XmlApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function sendXmlError(res: ServerResponse, err: XmlApiError): void {
  const text =
    "<?xml version='1.0' encoding='UTF-8'?>" +
    `<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error>`;
  res.writeHead(err.status, {
    "content-type": "application/xml; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
