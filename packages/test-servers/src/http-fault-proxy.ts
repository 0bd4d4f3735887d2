import { once } from "node:events";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP reverse proxy that answers chosen requests itself (a 503 from a load balancer
 * whose backend restarts, a 429 from a throttling edge) and passes every other one through
 * to the target unchanged, streaming both ways. It records each request, so a test can count
 * a client's attempts and see when each arrived. Where the TCP-level FaultProxy breaks
 * connections, this one gives well-formed HTTP answers.
 */
export interface HttpFaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request so far, oldest first. */
  readonly requests: readonly ProxiedRequest[];
  /**
   * The next `count` requests are answered by the proxy: their bodies are read to the end
   * first (so the client reads the answer, never a reset), then `answer` is sent. A function
   * is called per request, e.g. to date a Retry-After from the moment of the answer.
   */
  answerNext(count: number, answer: CannedAnswer | (() => CannedAnswer)): void;
  stop(): Promise<void>;
}

export interface CannedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as is; an object as JSON. */
  body?: string | object;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Date.now() when the request's headers arrived. */
  receivedAt: number;
  /** Date.now() when its answer began, once it has. */
  answeredAt?: number;
  answeredBy: "proxy" | "target";
  status?: number;
}

export interface HttpFaultProxyOptions {
  /** The server behind the proxy, e.g. `http://127.0.0.1:8080`. */
  target: string;
}

export async function startHttpFaultProxy(options: HttpFaultProxyOptions): Promise<HttpFaultProxy> {
  const target = new URL(options.target);
  const requests: ProxiedRequest[] = [];
  const queue: (CannedAnswer | (() => CannedAnswer))[] = [];

  const server = createServer((req, res) => {
    const canned = queue.shift();
    const record: ProxiedRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: req.headers,
      receivedAt: Date.now(),
      answeredBy: canned ? "proxy" : "target",
    };
    requests.push(record);
    if (canned)
      void answerItself(req, res, record, typeof canned === "function" ? canned : () => canned);
    else forward(req, res, record);
  });

  function forward(req: IncomingMessage, res: ServerResponse, record: ProxiedRequest): void {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        // A connection per request, as the client's own: a reset stays the client's.
        agent: false,
      },
      (answer) => {
        record.answeredAt = Date.now();
        record.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
        answer.once("error", () => res.destroy());
      },
    );
    upstream.once("error", () => {
      if (res.headersSent) res.destroy();
      else {
        record.answeredAt = Date.now();
        record.status = 502;
        res.writeHead(502, { "Content-Type": "text/plain" }).end("proxy: target unreachable");
      }
    });
    // The client left: so does the request to the target, as a real proxy's would.
    res.once("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  async function answerItself(
    req: IncomingMessage,
    res: ServerResponse,
    record: ProxiedRequest,
    answer: () => CannedAnswer,
  ): Promise<void> {
    req.resume();
    try {
      await once(req, "end");
    } catch {
      return;
    }
    const { status, headers = {}, body = "" } = answer();
    const text = typeof body === "string" ? body : JSON.stringify(body);
    record.answeredAt = Date.now();
    record.status = status;
    res.writeHead(status, {
      "Content-Type": typeof body === "string" ? "text/plain" : "application/json",
      "Content-Length": String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    answerNext(count, answer) {
      for (let i = 0; i < count; i++) queue.push(answer);
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
