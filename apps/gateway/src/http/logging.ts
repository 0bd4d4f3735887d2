import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pino, type DestinationStream, type Logger } from "pino";
import { pinoHttp } from "pino-http";

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

/** What an answered upload stored, carried by its request's completion line. */
export interface StoredUpload {
  key: string;
  size: number;
  sha256: string;
  via: "storage" | "spool";
}

const storedUploads = new WeakMap<ServerResponse, StoredUpload>();

/**
 * Names the object an upload stored on the request's one log line, rather than on a line of
 * its own: a second line doubled the logging work of the busiest route, and the two had to
 * be joined by request id anyway.
 */
export function logStoredUpload(res: ServerResponse, upload: StoredUpload): void {
  storedUploads.set(res, upload);
}

export function httpLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestId(req);
      res.setHeader("X-Request-Id", id);
      return id;
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : "info"),
    customSuccessObject: (_req, res, fields: object) => {
      const upload = storedUploads.get(res);
      return upload ? { ...fields, upload } : fields;
    },
    customSuccessMessage: (_req, res) => {
      if (!storedUploads.has(res)) return "request completed";
      // The route removes an object whose URL never reached the client (see route.ts).
      return res.writableFinished
        ? "upload stored"
        : "upload removed: the client left before the answer";
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
        return { statusCode: raw.statusCode };
      },
    },
  });
}
