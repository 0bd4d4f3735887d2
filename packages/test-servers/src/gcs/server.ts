import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  errorBody,
  GcsApiError,
  sendJson,
  sendJsonError,
  sendXmlError,
  XmlApiError,
} from "./errors.ts";
import { drain, type Exchange } from "./http.ts";
import { ResumableSessions } from "./resumable.ts";
import { route, type Services } from "./routes.ts";
import { V4Verifier } from "./signed-urls.ts";
import { GcsStore } from "./store.ts";

export interface GcsTestServerOptions {
  /** Listen address; loopback by default. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Buckets that exist from the start. */
  buckets?: string[];
  /** Service accounts whose V4 signed URLs the server accepts: client_email → public key. */
  signers?: Record<string, string | KeyObject>;
}

/**
 * Something that happens to matching requests, for tests of error paths and races: answer
 * `status` with the documented error body instead of handling the request, or run `before`
 * first and then handle it normally, or handle it and hold its answer until `holdAnswer`
 * settles (the request takes effect, its client hears of it late).
 */
export interface Fault {
  method?: string;
  /** Matched against the request's path and query string as sent. */
  url?: string | RegExp;
  status?: number;
  message?: string;
  before?: () => Promise<void> | void;
  holdAnswer?: Promise<unknown>;
  /** How many matching requests it applies to; default 1, Infinity for all. */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query string as the client sent them. */
  url: string;
  headers: IncomingMessage["headers"];
}

/**
 * The project's GCS JSON API test server, written from Google's public API reference: the
 * object upload types (media, multipart, resumable with chunked PUTs and cancellation),
 * media downloads with ranges, object get/list/delete, bucket get/insert/list/delete, the
 * documented error bodies, and V4 signed-URL downloads for registered service accounts.
 * Object bytes live in files under a temporary folder, so memory stays flat for any size.
 */
export class GcsTestServer {
  /** `http://127.0.0.1:PORT`: pass as `apiEndpoint`. */
  readonly url: string;
  /** `127.0.0.1:PORT`: the form `STORAGE_EMULATOR_HOST` takes (with `http://`). */
  readonly hostPort: string;
  readonly port: number;
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly services: Services;
  private readonly dir: string;
  private faults: (Fault & { left: number })[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(server: Server, services: Services, dir: string) {
    this.server = server;
    this.services = services;
    this.dir = dir;
    const { address, port } = server.address() as AddressInfo;
    const host = address.includes(":") ? `[${address}]` : address;
    this.port = port;
    this.hostPort = `${host}:${port}`;
    this.url = `http://${this.hostPort}`;
  }

  static async start(options: GcsTestServerOptions = {}): Promise<GcsTestServer> {
    const dir = await mkdtemp(join(tmpdir(), "mediagate-gcs-"));
    const store = new GcsStore(dir);
    await store.init();
    for (const name of options.buckets ?? []) store.createBucket(name);
    const verifier = new V4Verifier();
    for (const [email, key] of Object.entries(options.signers ?? {}))
      verifier.addSigner(email, key);
    const services: Services = { store, sessions: new ResumableSessions(store), verifier };
    // Requests only arrive once listen() has resolved, and by then `holder.instance` is set.
    const holder: { instance?: GcsTestServer } = {};
    const server = createServer((req, res) => void holder.instance?.handle(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    holder.instance = new GcsTestServer(server, services, dir);
    return holder.instance;
  }

  createBucket(name: string): void {
    this.services.store.createBucket(name);
  }

  addSigner(clientEmail: string, publicKey: string | KeyObject): void {
    this.services.verifier.addSigner(clientEmail, publicKey);
  }

  /** Every live object as "bucket/name". */
  objects(): string[] {
    return this.services.store.allObjects();
  }

  /** Resumable sessions neither completed nor cancelled: debris of a failed upload. */
  openSessions(): string[] {
    return this.services.sessions.open();
  }

  /** Makes the next matching request(s) fail, or run `before` ahead of handling them. */
  injectFault(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Closes every connection and removes the stored bytes; calling it again is harmless. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      await closed;
      await this.services.sessions.close();
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private takeFault(req: IncomingMessage): Fault | undefined {
    const url = req.url ?? "/";
    const fault = this.faults.find(
      (f) =>
        f.left > 0 &&
        (f.method === undefined || f.method.toUpperCase() === req.method) &&
        (f.url === undefined ||
          (typeof f.url === "string" ? url.includes(f.url) : f.url.test(url))),
    );
    if (fault) fault.left -= 1;
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers });
    const ex: Exchange = {
      req,
      res,
      url: new URL(req.url ?? "/", "http://placeholder"),
      origin: `http://${req.headers.host ?? this.hostPort}`,
    };
    try {
      const fault = this.takeFault(req);
      await fault?.before?.();
      if (fault?.holdAnswer) holdAnswer(res, fault.holdAnswer);
      if (fault?.status !== undefined) {
        await drain(req);
        sendJson(
          res,
          fault.status,
          errorBody(fault.status, fault.message ?? `Injected failure (${fault.status}).`),
        );
        return;
      }
      await route(this.services, ex);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Answer before the rest of the body arrives, then close: a client still sending a
      // large body learns of the failure without the server reading all of it.
      res.setHeader("connection", "close");
      if (err instanceof XmlApiError) sendXmlError(res, err);
      else if (err instanceof GcsApiError) sendJsonError(res, err);
      else
        sendJsonError(res, new GcsApiError(500, err instanceof Error ? err.message : String(err)));
      if (!req.readableEnded) res.once("finish", () => req.destroy());
    }
  }
}

/** Lets the handler answer as usual, but sends nothing until `until` settles. */
function holdAnswer(res: ServerResponse, until: Promise<unknown>): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  let head: unknown[] | undefined;
  res.writeHead = ((...args: unknown[]) => {
    head = args;
    return res;
  }) as ServerResponse["writeHead"];
  res.end = ((...args: unknown[]) => {
    const release = () => {
      if (res.destroyed) return;
      if (head) writeHead(...head);
      end(...args);
    };
    void until.then(release, release);
    return res;
  }) as ServerResponse["end"];
}

export function startGcsTestServer(options?: GcsTestServerOptions): Promise<GcsTestServer> {
  return GcsTestServer.start(options);
}
