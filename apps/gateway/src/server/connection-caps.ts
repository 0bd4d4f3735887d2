import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";

/**
 * Caps on open connections, so one address cannot hold every file descriptor (each upload
 * may also hold a spool or temp file, and a socket to the store), and so the process keeps
 * descriptors for the connections it already serves when they run short anyway.
 */
export interface ConnectionCaps {
  /** Open connections one client address may hold; undefined: no cap (behind a proxy). */
  perAddress: number | undefined;
  /** Open connections in all; new ones beyond it are shed at once. */
  total: number;
}

/** Descriptors kept back per connection for what an upload opens besides its socket. */
const DESCRIPTORS_PER_CONNECTION = 3;
/** Descriptors kept back for logs, the store's own sockets, a ledger, DNS. */
const RESERVED_DESCRIPTORS = 64;

/** The process's soft limit on open files, from /proc (Linux); undefined elsewhere. */
export function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!match || match[1] === "unlimited") return undefined;
    return Number(match[1]);
  } catch {
    return undefined;
  }
}

/** How many connections fit in the descriptor limit, leaving room for what they open. */
export function connectionsFor(fileLimit: number | undefined): number {
  if (fileLimit === undefined) return 65_536;
  return Math.max(16, Math.floor((fileLimit - RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION));
}

/**
 * Applies the caps to a server. Beyond the total, Node sheds new connections at accept (no
 * answer is possible without reading a request). A connection over its address's cap is
 * served one answer, 429 JSON, and closed; its requests never reach the app.
 */
export function capConnections(server: Server, caps: ConnectionCaps, logger: Logger): void {
  server.maxConnections = caps.total;
  let lastShed = 0;
  server.on("drop", (data?: { remoteAddress?: string }) => {
    const now = Date.now();
    if (now - lastShed < 60_000) return;
    lastShed = now;
    logger.warn(
      { remoteAddress: data?.remoteAddress, limit: caps.total },
      "shedding new connections: the server is at its connection limit",
    );
  });
  const perAddress = caps.perAddress;
  if (perAddress === undefined) return;
  const open = new Map<string, number>();
  const over = new WeakSet<Socket>();
  server.prependListener("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "unknown";
    const mine = open.get(address) ?? 0;
    if (mine >= perAddress) {
      over.add(socket);
      return;
    }
    open.set(address, mine + 1);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
  server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!over.has(req.socket)) return;
    // Marked for the app to skip: answered here, the connection then closes.
    (req as IncomingMessage & { refusedConnection?: boolean }).refusedConnection = true;
    const json = JSON.stringify({
      result: false,
      error: {
        code: "TOO_MANY_CONNECTIONS",
        message: "Too many open connections from this address.",
      },
    });
    res.writeHead(429, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(json),
      "Retry-After": "1",
      "Cache-Control": "no-store",
      Connection: "close",
    });
    res.end(json);
  });
}
