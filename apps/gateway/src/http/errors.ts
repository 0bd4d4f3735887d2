import type { NextFunction, Request, Response } from "express";
import { isStorageError } from "@mediagate/core";
import { noteRefusal } from "./logging.ts";

/**
 * Every error code the gateway answers with, and its HTTP status. Codes are part of the API:
 * clients and operators branch on them, so they never change meaning.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  NOT_MULTIPART: 400,
  MALFORMED_MULTIPART: 400,
  UNKNOWN_OP: 400,
  MISSING_FILE: 400,
  TOO_MANY_FILES: 400,
  TOO_MANY_PARTS: 400,
  TOO_MANY_FIELDS: 400,
  FIELD_TOO_LARGE: 400,
  INVALID_UID: 400,
  INVALID_MID: 400,
  INVALID_SOURCE: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  NOT_FOUND: 404,
  UID_ERASING: 409,
  UPLOAD_TOO_SLOW: 408,
  FIELDS_TIMEOUT: 408,
  FILE_TOO_LARGE: 413,
  QUOTA_EXCEEDED: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  TOO_MANY_UPLOADS: 429,
  QUOTA_EXCEEDED_TODAY: 429,
  INTERNAL: 500,
  STORAGE_UNAVAILABLE: 503,
  STORAGE_FULL: 507,
  STORAGE_TIMEOUT: 504,
  UPLOAD_ABORTED: 503,
  SHUTTING_DOWN: 503,
  AUTH_UNAVAILABLE: 503,
  SPOOL_FULL: 503,
  LEDGER_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers, e.g. Content-Range on a 416. */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = options.headers ?? {};
  }
}

/** multer's error codes, as the gateway reports them. */
const MULTER_CODES: Record<string, [ErrorCode, string]> = {
  LIMIT_FILE_SIZE: ["FILE_TOO_LARGE", "The file is larger than this server accepts."],
  LIMIT_FILE_COUNT: ["TOO_MANY_FILES", "Send exactly one file per upload."],
  LIMIT_UNEXPECTED_FILE: ["TOO_MANY_FILES", "Send exactly one file per upload."],
  LIMIT_PART_COUNT: ["TOO_MANY_PARTS", "The form has too many parts."],
  LIMIT_FIELD_COUNT: ["TOO_MANY_FIELDS", "The form has too many fields."],
  LIMIT_FIELD_KEY: ["FIELD_TOO_LARGE", "A field name is too long."],
  LIMIT_FIELD_VALUE: ["FIELD_TOO_LARGE", "A field value is too long."],
  LIMIT_FIELD_NESTING: ["BAD_REQUEST", "Field names are plain names, without brackets."],
};

const isMulterError = (err: unknown): err is Error & { code: string } =>
  err instanceof Error &&
  err.name === "MulterError" &&
  typeof (err as { code?: unknown }).code === "string";

/**
 * The HttpError a thrown value answers as. `parsing` marks errors raised while the multipart
 * body was being read: anything unrecognised there is the client's malformed body.
 */
export function toHttpError(err: unknown, context: { parsing?: boolean } = {}): HttpError {
  if (err instanceof HttpError) return err;
  if (isStorageError(err)) {
    switch (err.code) {
      case "Unavailable":
      case "Unauthorized":
      case "NotFound":
        return new HttpError(
          "STORAGE_UNAVAILABLE",
          "The storage backend is unavailable; try again later.",
          { cause: err },
        );
      case "Full":
        return new HttpError("STORAGE_FULL", "The storage backend is full; try again later.", {
          cause: err,
        });
      case "Aborted":
        return new HttpError("UPLOAD_ABORTED", "The upload was interrupted; try again.", {
          cause: err,
        });
      default:
        return new HttpError("INTERNAL", "Internal error.", { cause: err });
    }
  }
  if (isMulterError(err)) {
    const [code, message] = MULTER_CODES[err.code] ?? [
      "MALFORMED_MULTIPART",
      "The multipart body is malformed.",
    ];
    return new HttpError(code, message, { cause: err });
  }
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new HttpError("BAD_REQUEST", "The request is malformed.", { cause: err });
  }
  if (context.parsing) {
    return new HttpError("MALFORMED_MULTIPART", "The multipart body is malformed or truncated.", {
      cause: err,
    });
  }
  return new HttpError("INTERNAL", "Internal error.", { cause: err });
}

export interface ErrorBody {
  result: false;
  error: { code: ErrorCode; message: string };
}

/** Writes the one error shape every failure answers with. */
export function sendError(res: Response, error: HttpError): void {
  if (res.headersSent) {
    // Too late for a status: cut the response so the client sees it as failed, not short.
    res.destroy();
    return;
  }
  const body: ErrorBody = { result: false, error: { code: error.code, message: error.message } };
  res.status(error.status);
  res.set({ "Cache-Control": "no-store", ...error.headers });
  res.removeHeader("Content-Disposition");
  res.removeHeader("ETag");
  res.removeHeader("Last-Modified");
  res.json(body);
}

/**
 * Express's final error handler: JSON always, never its HTML page. It writes no log line of
 * its own: the refusal rides on the request's one line (http/logging.ts), a 5xx with its
 * cause, unless the client had already left (then it is an abort, not our failure).
 */
export function errorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const error = toHttpError(err);
    const clientGone = req.socket.destroyed || res.destroyed;
    noteRefusal(res, {
      code: error.code,
      reason: error.status >= 500 ? error.message : (error.cause as Error | undefined)?.message,
    });
    if (error.status >= 500 && !clientGone) {
      const cause = error.cause ?? err;
      (res as Response & { err?: Error }).err = cause instanceof Error ? cause : error;
    }
    sendError(res, error);
  };
}

export function notFoundHandler(_req: Request, res: Response): void {
  sendError(res, new HttpError("NOT_FOUND", "Not found."));
}
