import { once } from "node:events";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AzuriteServer } from "@mediagate/test-servers";

/**
 * An HTTP proxy in front of Azurite that watches Put Block requests: how many are on the wire
 * at once, how many bytes Azurite has acknowledged, and — on demand — holds them back or
 * answers one with an injected error. Everything else passes through untouched, so the
 * adapter still talks to a real server; the proxy only lets tests see and shape the traffic.
 */
export class BlockProxy {
  readonly #target: URL;
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  #inFlight = 0;
  #held: (() => void)[] | undefined;
  #failAt: number | undefined;
  #listeners = new Set<() => void>();
  /** Put Block requests seen so far. */
  blockRequests = 0;
  /** Most Put Block requests on the wire at the same time. */
  maxInFlight = 0;
  /** Bytes of blocks Azurite has acknowledged. */
  acknowledgedBytes = 0;
  /** Requests the client gave up on (aborted) before Azurite answered. */
  abandoned = 0;
  /** Every request seen, as `PUT blob`, `PUT block`, `PUT blocklist`, `DELETE blob`… */
  readonly log: string[] = [];
  #answerHolds: { kind: string; until: Promise<unknown> }[] = [];

  private constructor(target: URL) {
    this.#target = target;
  }

  static async start(azurite: AzuriteServer): Promise<BlockProxy> {
    const proxy = new BlockProxy(new URL(azurite.blobEndpoint));
    proxy.#server.listen(0, "127.0.0.1");
    await once(proxy.#server, "listening");
    return proxy;
  }

  /** The account URL to give the adapter instead of Azurite's own. */
  get blobEndpoint(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${this.#target.pathname}`;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Keep Put Block requests waiting (unanswered) until `release()`. */
  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const waiting = this.#held ?? [];
    this.#held = undefined;
    for (const resume of waiting) resume();
  }

  /**
   * Let the next request of `kind` (see `log`) reach Azurite, and hold Azurite's answer
   * until `until` settles: the request takes effect, its client hears of it late.
   */
  holdAnswer(kind: string, until: Promise<unknown>): void {
    this.#answerHolds.push({ kind, until });
  }

  /** Answer the `n`th Put Block from now with 503 ServerBusy, as Azure does under load. */
  failBlock(n: number): void {
    this.#failAt = this.blockRequests + n;
  }

  /** Resolves once `condition()` holds, re-checked after every proxied event. */
  until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.#listeners.delete(check);
        resolve();
      };
      this.#listeners.add(check);
    });
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const comp = new URL(req.url ?? "/", "http://x").searchParams.get("comp") ?? "blob";
    const kind = `${req.method} ${comp}`;
    this.log.push(kind);
    this.#changed();
    const isBlock = kind === "PUT block";
    if (!isBlock) {
      const hold = this.#answerHolds.findIndex((h) => h.kind === kind);
      const until = hold >= 0 ? this.#answerHolds.splice(hold, 1)[0]?.until : undefined;
      return this.#forward(req, res, undefined, undefined, until);
    }

    const index = ++this.blockRequests;
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    res.on("close", () => {
      this.#inFlight--;
      if (!res.writableFinished) this.abandoned++;
      this.#changed();
    });
    this.#changed();
    // Read the block before holding it: a server that stops reading never sees the client leave.
    const body = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("close", () => resolve(Buffer.concat(chunks)));
    });
    if (this.#held) await new Promise<void>((resume) => this.#held?.push(resume) ?? resume());
    if (res.destroyed || res.writableEnded) return;
    if (index === this.#failAt) {
      res.writeHead(503, { "content-type": "application/xml", "x-ms-error-code": "ServerBusy" });
      res.end(
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>Injected by the test proxy.</Message></Error>',
      );
      return;
    }
    this.#forward(req, res, body, () => {
      this.acknowledgedBytes += body.length;
      this.#changed();
    });
  }

  /** Passes the request on; `body` when it was already read, else streamed from `req`. */
  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    onAnswered?: () => void,
    holdUntil?: Promise<unknown>,
  ): void {
    const upstream = request(
      {
        host: this.#target.hostname,
        port: this.#target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        if ((answer.statusCode ?? 500) < 300) onAnswered?.();
        const pass = () => {
          if (res.destroyed) return void answer.resume();
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        };
        if (holdUntil) void holdUntil.then(pass, pass);
        else pass();
      },
    );
    upstream.on("error", () => res.destroy());
    res.on("close", () => {
      // A held answer's request has reached Azurite: it takes effect whatever the client does.
      if (!res.writableFinished && !holdUntil) upstream.destroy();
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  }
}
