import { once } from "node:events";
import { constants, rmSync } from "node:fs";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";
import type { BrowserContext, Page } from "playwright-core";

/**
 * Headless Chromium from the machine's own package (Debian's `chromium`), driven through
 * playwright-core. Nothing is downloaded: a missing browser is an error that says which
 * package to install. One browser per test file; each test takes a fresh page.
 */
export interface BrowserHarness {
  readonly context: BrowserContext;
  /** A new tab. Uncaught exceptions in it are collected in `pageErrors`. */
  newPage(): Promise<Page>;
  /** Uncaught exceptions of every page so far, as "message\nstack". */
  readonly pageErrors: readonly string[];
  /** The fresh --user-data-dir this browser runs with. */
  readonly profileDir: string;
  /** Closes the browser and removes its profile folder. */
  stop(): Promise<void>;
}

export interface BrowserOptions {
  /** Default: $CHROMIUM_PATH, else /usr/bin/chromium. */
  executablePath?: string;
  /** Extra command-line switches. */
  args?: string[];
}

/** Quiet and self-contained: no GPU, no QUIC, no phoning home, no first-run UI. */
const ARGS = [
  // The tests run as root in CI, where Chromium's sandbox cannot start.
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function startBrowser(options: BrowserOptions = {}): Promise<BrowserHarness> {
  const executablePath = options.executablePath ?? process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  try {
    await access(executablePath, constants.X_OK);
  } catch (err) {
    throw new Error(
      `no Chromium at ${executablePath}: install Debian's package (apt-get install chromium) ` +
        "or set CHROMIUM_PATH; the tests never download a browser",
      { cause: err },
    );
  }
  // A fresh profile each time: nothing cached or remembered from another run.
  const profile = await mkdtemp(join(tmpdir(), "mediagate-chromium-"));
  let context: BrowserContext;
  try {
    // Loaded here, not at the top: every adapter test imports this package, few need a browser.
    const { chromium } = await import("playwright-core");
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...ARGS, ...(options.args ?? [])],
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  // A test process that ends without stop() (a failed beforeAll) still leaves no profile
  // behind; playwright-core itself kills the browsers it launched on exit.
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  process.once("exit", removeProfile);
  const pageErrors: string[] = [];
  let stopping: Promise<void> | undefined;
  return {
    context,
    pageErrors,
    profileDir: profile,
    async newPage() {
      const page = await context.newPage();
      page.on("pageerror", (error) => pageErrors.push(`${error.message}\n${error.stack ?? ""}`));
      return page;
    },
    stop: () =>
      (stopping ??= (async () => {
        await context.close();
        process.off("exit", removeProfile);
        await rm(profile, { recursive: true, force: true });
      })()),
  };
}

/** A static web server on one origin, for the pages a browser test loads. */
export interface StaticServer {
  /** `http://<host>:<port>`, no trailing slash. */
  readonly origin: string;
  readonly port: number;
  /** Serves `body` at `path` (e.g. "/index.html"), ahead of any file under `root`. */
  route(path: string, body: string | Uint8Array, contentType?: string): void;
  stop(): Promise<void>;
}

export interface StaticServerOptions {
  /** A folder served below "/", e.g. compiled ES modules. */
  root?: string;
  /** Default 127.0.0.1; with the browser at localhost that makes two origins on one machine. */
  host?: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".css": "text/css",
  ".txt": "text/plain; charset=utf-8",
};

export async function startStaticServer(options: StaticServerOptions = {}): Promise<StaticServer> {
  const host = options.host ?? "127.0.0.1";
  const root = options.root === undefined ? undefined : resolve(options.root);
  const routes = new Map<string, { body: string | Uint8Array; type: string }>();

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD" }).end();
        return;
      }
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      let found = routes.get(path);
      if (!found && root) {
        const file = resolve(root, `.${path}`);
        // Nothing outside the folder, whatever the path says.
        if (file.startsWith(root + sep)) {
          const body = await readFile(file).catch(() => undefined);
          if (body) found = { body, type: TYPES[extname(file)] ?? "application/octet-stream" };
        }
      }
      if (!found) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
        return;
      }
      res.writeHead(200, {
        "Content-Type": found.type,
        "Content-Length": String(Buffer.byteLength(found.body)),
        "Cache-Control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : found.body);
    })().catch(() => res.destroy());
  });
  server.listen(0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    port,
    route(path, body, contentType) {
      routes.set(path, { body, type: contentType ?? TYPES[extname(path)] ?? "text/plain" });
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
