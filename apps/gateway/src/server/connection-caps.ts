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

/** Paths answered even when the server is full: an orchestrator's probes. */
const PROBES = new Set(["/healthz", "/readyz"]);

type Shed = "address" | "server";

/** Answers a request on a shed connection: 429/503 JSON, and the connection closes. */
function refuse(res: ServerResponse, why: Shed): void {
  const [status, message] =
    why === "address"
      ? [429, "Too many open connections from this address."]
      : [503, "The server is at its connection limit; try again shortly."];
  const json = JSON.stringify({ result: false, error: { code: "TOO_MANY_CONNECTIONS", message } });
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(json),
    "Retry-After": "1",
    "Cache-Control": "no-store",
    Connection: "close",
  });
  res.end(json);
}

/**
 * Applies the caps to a server. A connection over a cap is accepted but serves one answer,
 * 429 (its address is at its cap) or 503 (the server is), as JSON, and closes; its requests
 * never reach the app. Probes (/healthz, /readyz) are still answered on a full server, so an
 * orchestrator does not restart a gateway that is only busy. Sockets that never send a
 * request are cut by HEADERS_TIMEOUT, as any.
 */
export function capConnections(server: Server, caps: ConnectionCaps, logger: Logger): void {
  const open = new Map<string, number>();
  let total = 0;
  const shed = new WeakMap<Socket, Shed>();
  const lastLogged = new Map<Shed, number>();
  server.prependListener("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "unknown";
    const mine = open.get(address) ?? 0;
    const why: Shed | undefined =
      total >= caps.total
        ? "server"
        : caps.perAddress !== undefined && mine >= caps.perAddress
          ? "address"
          : undefined;
    if (why) {
      shed.set(socket, why);
      const now = Date.now();
      if (now - (lastLogged.get(why) ?? 0) >= 60_000) {
        lastLogged.set(why, now);
        logger.warn(
          { reason: why, remoteAddress: address, open: total },
          why === "server"
            ? "shedding new connections: the server is at its connection limit"
            : "shedding new connections from an address at its connection limit",
        );
      }
      return;
    }
    total++;
    open.set(address, mine + 1);
    socket.once("close", () => {
      total--;
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
  server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    const why = shed.get(req.socket);
    if (!why) return;
    if (why === "server" && PROBES.has((req.url ?? "").split("?")[0] ?? "")) {
      res.setHeader("Connection", "close");
      return;
    }
    (req as IncomingMessage & { shed?: boolean }).shed = true;
    refuse(res, why);
  });
}
