import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";

/**
 * Lingering close, as nginx does it. A refusal decided before the request body has all
 * arrived (a bad token, a file over the limit, a rate limit) is answered at once with
 * `Connection: close`. Node then closes the socket while the client is still sending, the
 * client's next bytes meet a closed socket, the kernel answers with a reset, and the client
 * loses the answer it had not read yet. Instead the write side is closed after the answer
 * and the rest of the body is read and thrown away, for a bounded time and byte count, so
 * the client gets to read its JSON; a client that stops sending, finishes, or passes a
 * bound is then cut.
 */
export interface LingerLimits {
  /** Longest the rest of a body is read for, in all. */
  maxMs: number;
  /** Longest a lingering socket may stay silent. */
  idleMs: number;
  /** Most bytes read and thrown away. */
  maxBytes: number;
}

export const LINGER_LIMITS: LingerLimits = {
  maxMs: 30_000,
  idleMs: 5_000,
  maxBytes: 256 * 1024 * 1024,
};

/**
 * Makes `socket` linger when Node closes it after an answer to a request (the socket's
 * latest, from `lastRequest`) whose body has not all arrived.
 */
export function lingerOnClose(
  socket: Socket,
  lastRequest: () => IncomingMessage | undefined,
  limits: LingerLimits = LINGER_LIMITS,
): void {
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    const req = lastRequest();
    if (!req || req.complete || socket.destroyed) return destroySoon();
    linger(socket, req, limits);
  };
}

function linger(socket: Socket, req: IncomingMessage, limits: LingerLimits): void {
  let bytes = 0;
  const stop = () => {
    clearTimeout(total);
    clearTimeout(idle);
    socket.off("data", onData);
    // The answer may still sit in the socket's buffer: it leaves first.
    if (socket.writableFinished || socket.destroyed) socket.destroy();
    else socket.once("finish", () => socket.destroy());
  };
  const total = setTimeout(stop, limits.maxMs);
  const idle = setTimeout(stop, limits.idleMs);
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limits.maxBytes) stop();
    else idle.refresh();
  };
  // The HTTP parser still reads the socket and throws the body away (the request is
  // dumped once answered); this only counts and bounds it.
  socket.on("data", onData);
  socket.once("close", stop);
  // The whole body is in: nothing more will come that could provoke a reset.
  if (req.complete) return stop();
  req.once("end", stop);
  req.once("close", () => {
    if (req.complete) stop();
  });
  socket.end();
}
