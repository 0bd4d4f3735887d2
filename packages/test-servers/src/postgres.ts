import { execFile, spawnSync } from "node:child_process";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./fault-proxy.ts";

const run = promisify(execFile);

/** Debian's PostgreSQL 15 binaries (package `postgresql-15`); override with PG_BIN. */
export const POSTGRES_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The cluster's data folder (inside the server's own temp folder). */
  readonly dataDir: string;
  /** Creates a database and resolves with its URL. Names: lowercase letters, digits, `_`. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL through `psql` and resolves with its unaligned output (`-At`), for inspection. */
  psql(sql: string, database?: string): Promise<string>;
  /** Stops the server at once (`-m immediate`, a crash as clients see it), keeping its data. */
  down(): Promise<void>;
  /** Starts it again on the same port and data after `down()`; resolves once it is ready. */
  up(): Promise<void>;
  /** Stops the server and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** How long `pg_ctl` waits for the server to accept connections (default 60 s). */
  startTimeoutSec?: number;
}

interface RunAs {
  /** Prefix that runs a command as the cluster's owner (empty when we are not root). */
  prefix: string[];
  uid?: number;
  gid?: number;
}

/** initdb refuses to run as root: as root, everything runs as the `postgres` user. */
async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const { stdout } = await run("getent", ["passwd", "postgres"]);
  const [, , uid, gid] = stdout.trim().split(":");
  return {
    prefix: ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"],
    uid: Number(uid),
    gid: Number(gid),
  };
}

async function exec(as: RunAs, bin: string, args: string[]): Promise<string> {
  const [file, ...rest] = [...as.prefix, join(POSTGRES_BIN, bin), ...args];
  try {
    const { stdout } = await run(file as string, rest, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`${bin} failed: ${detail.trim() || String(err)}`, { cause: err });
  }
}

/**
 * Starts a throwaway PostgreSQL 15 cluster: `initdb` in a fresh temp folder, then `pg_ctl
 * start` on a free loopback port with its unix socket inside that folder. fsync is off (the
 * data dies with the test anyway); commits still reach the OS before they are acknowledged,
 * so what was committed survives `down()` and `up()`. `pg_ctl -w` probes the server until it accepts
 * connections. The cluster is stopped and its folder removed by `stop()`, or when this
 * process exits.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const as = await runAs();
  const root = await mkdtemp(join(tmpdir(), "mediagate-pg-"));
  if (as.uid !== undefined && as.gid !== undefined) await chown(root, as.uid, as.gid);
  const dataDir = join(root, "data");
  const host = "127.0.0.1";
  let port = 0;
  let running = false;
  let stopped = false;

  const pgCtl = (args: string[]) => exec(as, "pg_ctl", ["-D", dataDir, ...args]);
  const start = async () => {
    const settings = [
      `-p ${port}`,
      `-k ${root}`,
      `-c listen_addresses=${host}`,
      "-c fsync=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
    ].join(" ");
    const timeout = String(options.startTimeoutSec ?? 60);
    await pgCtl(["start", "-w", "-t", timeout, "-l", join(root, "server.log"), "-o", settings]);
    running = true;
  };
  const halt = async () => {
    if (!running) return;
    await pgCtl(["stop", "-m", "immediate", "-w"]);
    running = false;
  };
  // Synchronous on purpose: 'exit' handlers cannot wait for promises.
  const haltOnExit = () => {
    if (running) {
      const [file, ...rest] = [...as.prefix, join(POSTGRES_BIN, "pg_ctl")];
      spawnSync(file as string, [...rest, "-D", dataDir, "stop", "-m", "immediate", "-w"]);
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once("exit", haltOnExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", haltOnExit);
    try {
      await halt();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };

  try {
    await exec(as, "initdb", [
      ...["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"],
      ...["--no-sync", "--no-instructions"],
    ]);
    // A free port can be taken between finding and binding it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await start();
        break;
      } catch (err) {
        const log = await readFile(join(root, "server.log"), "utf8").catch(() => "");
        if (attempt >= 3 || !/could not (bind|create listen)/i.test(log)) {
          throw new Error(`PostgreSQL did not start: ${String(err)}\n${log}`, { cause: err });
        }
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const urlFor = (database: string) => `postgres://postgres@${host}:${port}/${database}`;
  const psql = (sql: string, database = "postgres") =>
    exec({ prefix: [] }, "psql", [
      ...["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port)],
      ...["-U", "postgres", "-d", database, "-c", sql],
    ]);

  return {
    url: urlFor("postgres"),
    host,
    get port() {
      return port;
    },
    dataDir,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
        throw new Error(`createDatabase: "${name}" is not a plain lowercase identifier.`);
      }
      await psql(`CREATE DATABASE ${name}`);
      return urlFor(name);
    },
    psql,
    down: halt,
    async up() {
      if (stopped) throw new Error("PostgreSQL test server: up() after stop().");
      if (!running) await start();
    },
    stop,
  };
}
