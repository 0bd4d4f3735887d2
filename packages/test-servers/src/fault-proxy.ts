import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP proxy that injects faults between a client and a server: refuse connections (as if
 * nothing listened), reset every open connection, stall them (bytes stop flowing both ways,
 * sockets stay open), or reset them once a number of client bytes went through (a backend
 * dying mid-upload). It works for any protocol on top of TCP, so one proxy serves every test
 * backend.
 */
export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Whether it accepts connections right now. */
  readonly listening: boolean;
  /** Connections open through the proxy right now. */
  readonly connections: number;
  /** Bytes forwarded from clients to the target so far. */
  readonly bytesUp: number;
  /** Stops listening (new connections are refused) and resets every open connection. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Resets every open connection; new ones are still accepted. */
  killConnections(): void;
  /** Stops forwarding in both directions, on open and new connections, until resume(). */
  pause(): void;
  resume(): void;
  /**
   * Once `bytes` more client bytes have gone through, resets every connection and goes
   * down(); resolves when that happened.
   */
  dieAfter(bytes: number): Promise<void>;
  /** Points new connections at another target port (e.g. a restarted server). */
  retarget(port: number): void;
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Listen on this port (default: a free one). */
  port?: number;
  /** Start down: the port is reserved but refuses connections until up(). */
  startDown?: boolean;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** A free loopback port, found by letting the OS pick one and releasing it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = "127.0.0.1";
  const targetHost = options.targetHost ?? "127.0.0.1";
  let targetPort = options.targetPort;
  const port = options.port ?? (await freePort());
  const pairs = new Set<Pair>();
  let paused = false;
  let bytesUp = 0;
  let server: Server | undefined;
  let dying: { at: number; resolve: () => void } | undefined;

  const destroyPair = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  };

  const killConnections = () => {
    for (const pair of [...pairs]) destroyPair(pair);
  };

  const down = async () => {
    killConnections();
    const s = server;
    server = undefined;
    if (s) {
      s.close();
      await once(s, "close");
    }
  };

  const onConnection = (client: Socket) => {
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      if (pairs.has(pair)) destroyPair(pair);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    if (paused) {
      client.pause();
      upstream.pause();
    }
    client.on("data", (chunk: Buffer) => {
      bytesUp += chunk.length;
      if (!upstream.write(chunk)) client.pause();
      if (dying && bytesUp >= dying.at) {
        const { resolve } = dying;
        dying = undefined;
        void down().then(resolve);
      }
    });
    upstream.on("drain", () => !paused && client.resume());
    upstream.on("data", (chunk: Buffer) => {
      if (!client.write(chunk)) upstream.pause();
    });
    client.on("drain", () => !paused && upstream.resume());
  };

  const up = async () => {
    if (server) return;
    const s = createServer(onConnection);
    s.listen(port, host);
    await once(s, "listening");
    server = s;
  };

  if (!options.startDown) await up();

  return {
    port,
    url: `http://${host}:${port}`,
    get listening() {
      return server !== undefined;
    },
    get connections() {
      return pairs.size;
    },
    get bytesUp() {
      return bytesUp;
    },
    down,
    up,
    killConnections,
    pause() {
      paused = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      paused = false;
      for (const { client, upstream } of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    dieAfter(bytes) {
      return new Promise<void>((resolve) => {
        dying = { at: bytesUp + bytes, resolve };
      });
    },
    retarget(next) {
      targetPort = next;
    },
    stop: down,
  };
}
