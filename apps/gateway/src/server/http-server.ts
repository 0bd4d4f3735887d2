import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import type { Express } from "express";
import type { Logger } from "pino";
import type { ServerConfig } from "../config/load.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { lingerOnClose } from "./linger.ts";
import {
  capConnections,
  connectionsFor,
  openFileLimit,
  type ConnectionCaps,
} from "./connection-caps.ts";

export interface RunningServer {
  server: Server;
  /** http://host:port the server listens on. */
  url: string;
  /**
   * Graceful stop: refuse new connections, let in-flight requests finish until the
   * shutdown deadline, then abort what is left (its storage writes clean up) and close.
   */
  shutdown(): Promise<void>;
}

/** After the deadline, how long aborted writes get to remove what they started. */
const ABORT_GRACE_MS = 10_000;
/** On shutdown, how long a connection opened just before gets to bring its request. */
const FRESH_GRACE_MS = 1000;

/**
 * The HTTP server around the app. Node's default 5-minute `requestTimeout` would kill a slow
 * but healthy 2 GB upload, so it is off; instead a socket whose client sends or receives
 * nothing for IDLE_TIMEOUT is closed (a quiet spell the gateway causes does not count), and
 * headers must arrive within HEADERS_TIMEOUT (slowloris).
 */
export async function startServer(
  app: Express,
  lifecycle: Lifecycle,
  options: ServerConfig,
  logger: Logger,
  caps: ConnectionCaps = { perAddress: undefined, total: connectionsFor(openFileLimit()) },
): Promise<RunningServer> {
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: 5000,
      // How often Node enforces headersTimeout; its 30 s default would let a short timeout
      // run up to 30 s late.
      connectionsCheckingInterval: Math.max(250, Math.min(options.headersTimeoutMs / 4, 5000)),
      // Node answers a request without Host with an empty 400; the app answers it in JSON.
      requireHostHeader: false,
    },
    app,
  );
  // Before the other connection listeners: a shed connection is never served.
  capConnections(server, caps, logger);
  const current = currentRequests(server);
  const latest = new WeakMap<Socket, IncomingMessage>();
  server.on("request", (req: IncomingMessage) => latest.set(req.socket, req));
  const open = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    lingerOnClose(socket, () => latest.get(socket));
  });
  // Node answers an Expect it does not know with an empty 417; this is the same, in JSON.
  server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({
      result: false,
      error: { code: "BAD_REQUEST", message: "Only Expect: 100-continue is supported." },
    });
    res.writeHead(417, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
      "Cache-Control": "no-store",
      Connection: "close",
    });
    res.end(body);
  });
  server.setTimeout(options.idleTimeoutMs, (socket: Socket) => {
    if (waitingOnUs(current.get(socket))) {
      // The silence is the gateway's: it holds the body back while storage catches up, or
      // has all of it and awaits storage's answer (STORAGE_TIMEOUT bounds those waits). Not
      // the client's idleness: look again after another period.
      socket.setTimeout(options.idleTimeoutMs);
      return;
    }
    logger.info({ remoteAddress: socket.remoteAddress }, "closing an idle connection");
    socket.destroy();
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(err, socket),
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      lifecycle.startDraining();
      const deadline = Date.now() + options.shutdownTimeoutMs;
      const closed = new Promise<void>((resolve) => stopAccepting(server, () => resolve()));
      let fresh = 0;
      for (const socket of open) {
        if (current.has(socket)) continue;
        if (latest.has(socket)) socket.destroy();
        else fresh += 1;
      }
      logger.info({ inFlight: lifecycle.inFlight, fresh }, "shutting down: no new connections");
      if (fresh > 0) {
        await delay(Math.min(FRESH_GRACE_MS, options.shutdownTimeoutMs));
        for (const socket of open) if (!latest.has(socket)) socket.destroy();
      }
      if (!(await lifecycle.idle(Math.max(0, deadline - Date.now())))) {
        logger.warn(
          { inFlight: lifecycle.inFlight },
          "shutdown deadline passed: aborting in-flight requests",
        );
        lifecycle.abortInFlight();
        await lifecycle.workSettled(ABORT_GRACE_MS);
        server.closeAllConnections();
      }
      await closed;
      // http.Server#close on the stopped server only clears its connection-checking timer.
      server.close(() => undefined);
      logger.info("shut down");
    })());

  return { server, url: `http://${host}:${address.port}`, shutdown };
}

/**
 * Stops listening without http.Server#close's sweep of idle connections: that sweep also
 * destroys a connection opened a moment ago whose request is not parsed yet, and a proxy
 * that has just written an upload into it gets a reset it cannot re-send (a 502 for the
 * client, seen in rolling restarts behind nginx). The caller closes kept-alive connections
 * itself and gives fresh ones FRESH_GRACE_MS to bring their request.
 */
function stopAccepting(server: Server, onClosed: () => void): void {
  NetServer.prototype.close.call(server, onClosed);
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/** The exchange each connection is serving, until its response has been sent. */
function currentRequests(server: Server): WeakMap<Socket, Exchange> {
  const current = new WeakMap<Socket, Exchange>();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const { socket } = req;
    const exchange = { req, res };
    current.set(socket, exchange);
    const done = () => {
      if (current.get(socket) === exchange) current.delete(socket);
    };
    res.once("finish", done);
    res.once("close", done);
  });
  return current;
}

/**
 * Whether a connection is quiet because of the gateway storing an upload rather than because
 * of the client: a request with a body whose answer has not begun, and whose body has all
 * arrived (storage's answer is awaited) or is held back (backpressure from a storage backend
 * slower than the client). Once the answer has begun, silence is the client not reading it;
 * a request without a body (a download) waits on nothing the client sent. Both stay bound
 * by IDLE_TIMEOUT.
 */
function waitingOnUs(exchange: Exchange | undefined): boolean {
  if (!exchange) return false;
  const { req, res } = exchange;
  if (res.headersSent || res.writableEnded || res.destroyed || !hasBody(req)) return false;
  return req.complete || req.readableFlowing === false;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Malformed HTTP never reaches Express; answer it in the same JSON shape, then hang up. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, reason, code] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT"
      ? [408, "Request Timeout", "BAD_REQUEST"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "BAD_REQUEST"]
        : [400, "Bad Request", "BAD_REQUEST"];
  const body = JSON.stringify({
    result: false,
    error: { code, message: "The HTTP request is malformed." },
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
