import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pino, type DestinationStream, type Logger } from "pino";
import { pinoHttp } from "pino-http";
import type { UploadLogEntry } from "../upload/route.ts";

/**
 * One JSON line per event. The request serializer below names exactly what is logged about
 * a request — never headers or form fields — so tokens cannot leak through it; `redact` is a
 * second line of defence for anything passed to the logger by hand.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "mediagate" },
      redact: {
        paths: ["auth", "token", "*.auth", "*.token", "*.authorization", "*.headers", "*.body"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** A caller-supplied id is kept when it looks like one, so logs join across proxies. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/** What a refusal was, for the request's one log line. */
export interface RefusalLogEntry {
  code: string;
  reason?: string | undefined;
}

type Locals = {
  upload?: UploadLogEntry;
  refusal?: RefusalLogEntry;
  trace?: { trace_id: string; span_id: string };
};
type WithLocals = ServerResponse & { locals?: Locals };

function locals(res: ServerResponse): Locals {
  const withLocals = res as WithLocals;
  withLocals.locals ??= {};
  return withLocals.locals;
}

/** Names what an upload stored on its request's one log line (in Express's res.locals). */
export function noteUpload(res: ServerResponse, upload: UploadLogEntry): void {
  locals(res).upload = upload;
}

/** Names why a request was refused on its one log line, instead of a line of its own. */
export function noteRefusal(res: ServerResponse, refusal: RefusalLogEntry): void {
  locals(res).refusal = refusal;
}

/** Status logged for a request whose answer never fully reached the client (nginx's 499). */
export const CLIENT_CLOSED = 499;

/** Whether the answer was handed over whole; otherwise the client left first. */
const answered = (res: ServerResponse) => res.writableFinished;

/** Where the client was when it left: still sending, waiting for us, or reading the answer. */
function abortStage(req: IncomingMessage, res: ServerResponse): string {
  if (!req.complete) return "sending the body";
  return res.headersSent ? "reading the answer" : "waiting for the answer";
}

/**
 * pino-http's line for each request, the only line a request gets: what an upload stored or
 * why it was refused rides on it (res.locals), a 5xx carries its cause (res.err), and a
 * client that left is logged at info with status 499 and the stage it left at, never as 200.
 */
export function httpLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestId(req);
      res.setHeader("X-Request-Id", id);
      return id;
    },
    // The trace's ids (when tracing is on), so a log line leads to its trace.
    customProps: (_req, res) => (res as WithLocals).locals?.trace ?? {},
    customLogLevel: (_req, res, err) => {
      if (!answered(res)) return "info";
      return err || res.statusCode >= 500 ? "error" : "info";
    },
    customSuccessObject: (req, res, fields: object) => {
      const { upload, refusal } = (res as WithLocals).locals ?? {};
      return {
        ...fields,
        ...(upload && { upload }),
        ...(refusal && { refusal }),
        ...(!answered(res) && { abortedWhile: abortStage(req, res) }),
      };
    },
    customErrorObject: (_req, res, _err, fields: object) => {
      const { refusal } = (res as WithLocals).locals ?? {};
      return { ...fields, ...(refusal && { refusal }) };
    },
    customSuccessMessage: (_req, res) => {
      const { upload } = (res as WithLocals).locals ?? {};
      if (!answered(res)) {
        // The route removes an object whose URL never reached the client (see route.ts).
        return upload ? "upload removed: the client left before the answer" : "request aborted";
      }
      return upload ? "upload stored" : "request completed";
    },
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage & { id?: unknown; raw?: IncomingMessage }) => {
        const raw = req.raw ?? req;
        return {
          id: req.id,
          method: raw.method,
          // The query string is dropped: it is the one place a client might put a secret.
          path: (raw.url ?? "").split("?")[0],
          remoteAddress: raw.socket?.remoteAddress,
          contentLength: raw.headers["content-length"],
        };
      },
      res: (res: ServerResponse & { raw?: ServerResponse }) => {
        const raw = res.raw ?? res;
        return { statusCode: answered(raw) ? raw.statusCode : CLIENT_CLOSED };
      },
    },
  });
}
