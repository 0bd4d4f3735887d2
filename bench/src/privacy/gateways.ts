/**
 * The gateways compared: the compiled gateway on the fs backend, each in a folder of its own
 * (store, spool, SQLite ledger, log), differing only in the variables under test.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { startGateway, type RunningGateway } from "../gateway.ts";
import { fsSdk } from "../sdk/fs.ts";
import { MiB } from "../units.ts";

export interface BenchGateway {
  /** The variable under test as set, e.g. "ENCRYPTION=on". */
  label: string;
  pid: number;
  uploadUrl: string;
  /** FS_ROOT: where the stored bytes can be read back. */
  root: string;
  logFile: string;
  running: RunningGateway;
  /** Deletes every stored object (untimed, between rounds); what was there. */
  purge(): Promise<{ objects: number; bytes: number }>;
}

export interface GatewaySetup {
  workDir: string;
  /** FS_DURABLE: false measures the features without the fsyncs' disk time. */
  durable: boolean;
  /** The largest upload, so MAX_FILE_SIZE never refuses `--size`. */
  maxFileSize: number;
}

/** A fresh master key, as `mediagate keys generate` makes one: base64 of 32 random bytes. */
export const masterKey = (): string => randomBytes(32).toString("base64");

export async function startBenchGateway(
  setup: GatewaySetup,
  name: string,
  label: string,
  env: Record<string, string>,
): Promise<BenchGateway> {
  const cwd = join(setup.workDir, name);
  const root = join(cwd, "store");
  await mkdir(root, { recursive: true });
  const logFile = join(setup.workDir, `${name}.log`);
  const running = await startGateway(
    { provider: "fs", root },
    {
      cwd,
      logFile,
      env: {
        FS_DURABLE: String(setup.durable),
        // The ledger is on (SQLite) in every configuration, as by default: ENCRYPTION=on
        // needs it, and the same records are written either way.
        LEDGER: "sqlite",
        LEDGER_PATH: join(cwd, "ledger.db"),
        MAX_FILE_SIZE: `${Math.max(1024, Math.ceil(setup.maxFileSize / MiB) + 1)}mb`,
        ...env,
      },
    },
  );
  const store = fsSdk(root);
  return {
    label,
    pid: running.child.pid,
    uploadUrl: running.uploadUrl,
    root,
    logFile,
    running,
    purge: () => store.purge(),
  };
}

/** The end of a gateway's log, for the error that ends a run. */
export async function logTail(gateway: BenchGateway, lines = 15): Promise<string> {
  const text = await readFile(gateway.logFile, "utf8").catch(() => "");
  return text.split("\n").slice(-lines).join("\n");
}
