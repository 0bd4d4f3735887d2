import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Azurite's well-known development account (published in Microsoft's docs, not a secret). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteOptions {
  /** Cap on Azurite's in-memory blob store, in MB (default: Azurite's own, half the RAM). */
  extentMemoryLimitMb?: number;
  /** How long to wait for Azurite to answer before giving up (default 30 s). */
  startTimeoutMs?: number;
  /**
   * Serve https with the loopback test certificate (see LOOPBACK_TLS) and accept Entra ID
   * bearer tokens (`--oauth basic`: Azurite checks issuer, audience and lifetime, not the
   * signature). Azure SDKs only send tokens over https.
   */
  entraId?: boolean;
}

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

/**
 * A self-signed certificate for 127.0.0.1 and localhost, valid 2020–2120, for test servers
 * only: clients trust it with `tls.setDefaultCACertificates([...defaults, LOOPBACK_TLS.cert])`.
 */
export const LOOPBACK_TLS = {
  certPath: join(fixtures, "loopback-cert.pem"),
  keyPath: join(fixtures, "loopback-key.pem"),
  get cert(): string {
    return readFileSync(this.certPath, "utf8");
  },
};

export interface AzuriteServer {
  readonly host: string;
  readonly port: number;
  readonly accountName: string;
  readonly accountKey: string;
  /** `http(s)://127.0.0.1:<port>/devstoreaccount1`: the account URL the SDK clients take. */
  readonly blobEndpoint: string;
  readonly connectionString: string;
  /** Stops Azurite and every process it started; resolves once they have exited. */
  stop(): Promise<void>;
}

const LISTENING = /successfully listens on https?:\/\/[^:]+:(\d+)/;

function azuriteBlobBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("azurite/package.json")), "dist/src/blob/main.js");
}

/**
 * Starts Azurite's blob service in memory on a free port (the OS picks it; Azurite prints
 * the one it got) and resolves once it answers HTTP. It runs as its own process group so
 * `stop()` — or this process exiting — takes down everything it spawned.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteServer> {
  const host = "127.0.0.1";
  const args = [
    azuriteBlobBin(),
    "--inMemoryPersistence",
    "--blobHost",
    host,
    "--blobPort",
    "0",
    "--skipApiVersionCheck",
    "--loose",
    // Without it Azurite tries to reach Application Insights on start.
    "--disableTelemetry",
  ];
  if (options.entraId) {
    args.push("--cert", LOOPBACK_TLS.certPath, "--key", LOOPBACK_TLS.keyPath, "--oauth", "basic");
  }
  if (options.extentMemoryLimitMb !== undefined) {
    args.push("--extentMemoryLimit", String(options.extentMemoryLimitMb));
  }
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killOnExit = () => killGroup(child, "SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    await stopGroup(child);
  };

  try {
    const port = await waitForPort(child, options.startTimeoutMs ?? 30_000);
    // Drain its output from here on so a chatty server never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    const scheme = options.entraId ? "https" : "http";
    const blobEndpoint = `${scheme}://${host}:${port}/${AZURITE_ACCOUNT_NAME}`;
    await waitUntilAnswering(blobEndpoint, options.startTimeoutMs ?? 30_000);
    return {
      host,
      port,
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: AZURITE_ACCOUNT_KEY,
      blobEndpoint,
      connectionString:
        `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT_NAME};` +
        `AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      fn();
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match) finish(() => resolve(Number(match[1])));
    };
    const onExit = (code: number | null) =>
      finish(() => reject(new Error(`Azurite exited (${code}) before listening:\n${output}`)));
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(new Error(`Azurite did not listen within ${timeoutMs} ms:\n${output}`)),
        ),
      timeoutMs,
    );
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", onExit);
  });
}

/** Polls until Azurite answers a request with its own headers (an anonymous 4xx counts). */
async function waitUntilAnswering(blobEndpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await answers(`${blobEndpoint}?comp=list`)) return;
    if (Date.now() > deadline) throw new Error(`Azurite at ${blobEndpoint} never answered.`);
    await delay(50); // poll interval, not a readiness guess
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.startsWith("https:") ? httpsRequest : request;
    // Only the readiness probe skips verification; clients under test trust LOOPBACK_TLS.
    const req = send(url, { method: "GET", timeout: 2_000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.headers["x-ms-request-id"] !== undefined);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  killGroup(child, "SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
