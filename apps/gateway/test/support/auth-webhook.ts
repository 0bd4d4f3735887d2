import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type WebhookBehaviour = "decide" | "hang" | "drop" | "bad-gateway" | "redirect";

/**
 * A stand-in for an app's auth backend: a real HTTP server on loopback that records every
 * JSON body it receives. In "decide" it allows exactly the token `app-<uid>`, so a token of
 * one user cannot pass for another.
 */
export class AuthWebhook {
  readonly calls: Record<string, unknown>[] = [];
  behaviour: WebhookBehaviour = "decide";
  #server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        } catch {
          body = { unparseable: true };
        }
        this.calls.push({ ...body, contentType: req.headers["content-type"] });
        switch (this.behaviour) {
          case "hang":
            return; // never answers; the gateway's timeout must fire
          case "drop":
            return req.socket.destroy();
          case "bad-gateway":
            return res.writeHead(502).end();
          case "redirect":
            return res.writeHead(307, { location: this.url }).end();
          case "decide":
            return res.writeHead(body.auth === `app-${String(body.uid)}` ? 204 : 403).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/mediagate/auth`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
