#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=300 --scavenger-max-new-space-capacity-mb=2
/**
 * The mediagate CLI: reads the configuration (environment, then a .env file), starts the
 * gateway, and stops it gracefully on SIGTERM/SIGINT. A configuration error prints one line
 * naming the variable and exits with status 2 — no stack trace.
 */
import {
  ConfigError,
  loadConfig,
  mergeEnv,
  readDotenvFile,
  type GatewayConfig,
} from "./config/load.ts";
import { formatSize } from "./config/units.ts";
import { generateToken } from "./auth/tokens.ts";

/** npm runs workspace scripts inside the workspace; INIT_CWD is where the operator ran npm. */
const baseDir = process.env.INIT_CWD ?? process.cwd();

// `mediagate token …` mints a signed upload token instead of starting the server.
if (process.argv[2] === "token") {
  const { runTokenCommand } = await import("./cli/token.ts");
  process.exit(runTokenCommand(process.argv.slice(3), baseDir));
}
// `mediagate keys generate|rotate` manages the master keys of ENCRYPTION=on.
if (process.argv[2] === "keys") {
  const { runKeysCommand } = await import("./cli/keys.ts");
  process.exit(await runKeysCommand(process.argv.slice(3), baseDir));
}
// `mediagate ledger verify [--repair]` compares storage with the ledger.
if (process.argv[2] === "ledger") {
  const { runLedgerCommand } = await import("./cli/ledger.ts");
  process.exit(await runLedgerCommand(process.argv.slice(3), baseDir));
}
// `mediagate migrate --to <target.env>` copies every object to another backend.
if (process.argv[2] === "migrate") {
  const { runMigrateCommand } = await import("./cli/migrate.ts");
  process.exit(await runMigrateCommand(process.argv.slice(3), baseDir));
}

function fail(message: string): never {
  process.stderr.write(`mediagate: ${message}\n`);
  process.exit(2);
}

let config: GatewayConfig;
try {
  config = loadConfig(mergeEnv(readDotenvFile(baseDir), process.env), baseDir);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

// Loaded only once the configuration is known to be good, so a bad one fails fast.
const { createLogger } = await import("./http/logging.ts");
const { startGateway } = await import("./gateway.ts");
const { pino } = await import("pino");
// pino's own stdout stream, held here so the exit can wait for it (see exitOnceLogged).
const logOutput = pino.destination({ dest: 1, sync: false });
const logger = createLogger(config.server.logLevel, logOutput);
// A promise nobody awaited is a bug to log, not a reason to drop every upload in flight.
process.on("unhandledRejection", (err: unknown) => logger.error({ err }, "unhandled rejection"));
// A thrown error nobody caught leaves the process in an unknown state: log it, then exit
// (an orchestrator restarts the gateway; the crash sweep cleans up after it).
process.on("uncaughtException", (err: Error) => {
  logger.fatal({ err }, "uncaught exception: exiting");
  exitOnceLogged(70);
});
/**
 * Exits once the log lines already written are out. pino's own exit hook flushes
 * synchronously and, when stdout is a closed pipe, retries forever (sonic-boom gives up on
 * EPIPE only once an asynchronous write has reported it): ending the stream first lets that
 * report arrive, and an ended stream is left alone by the hook. Bounded, so a stalled log
 * reader cannot hold the exit either.
 */
const EXIT_FLUSH_MS = 2000;
function exitOnceLogged(code: number): void {
  const exit = () => process.exit(code);
  setTimeout(exit, EXIT_FLUSH_MS);
  logOutput.once("close", exit);
  logOutput.once("error", exit);
  logOutput.end();
}

let generatedToken: string | undefined;
if (config.auth.mode === "tokens" && config.auth.tokens.length === 0) {
  generatedToken = generateToken();
  config.auth.tokens = [generatedToken];
}

try {
  const gateway = await startGateway(config, logger);
  // Installed before announcing that we listen: until a handler exists, a SIGTERM would kill
  // the process outright instead of draining it.
  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      exitOnceLogged(1);
      return;
    }
    logger.info({ signal }, "stopping");
    gateway.shutdown().then(
      () => exitOnceLogged(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        exitOnceLogged(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const publicUrl = config.download.publicBaseUrl ?? gateway.url.replace("0.0.0.0", "localhost");
  // Before the "listening" line, which tools (and tests) wait for.
  if (generatedToken) printGeneratedToken(generatedToken, publicUrl);
  logger.info(
    {
      url: gateway.url,
      adminUrl: gateway.adminUrl,
      metricsUrl: gateway.metricsUrl,
      publicBaseUrl: config.download.publicBaseUrl ?? "(from each request's Host header)",
      storage: config.storage.provider.name,
      maxFileSize: formatSize(config.upload.maxFileSize),
      downloadMode: config.download.mode,
      authMode: config.auth.mode,
      tokens: config.auth.mode === "tokens" ? config.auth.tokens.length : undefined,
    },
    "mediagate is listening",
  );
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  const message = err instanceof Error ? err.message : String(err);
  fail(`cannot start: ${message}`);
}

/**
 * A development run without AUTH_TOKENS: the token is shown once, on stderr, outside the
 * JSON log, so it never lands in a log collector as a log line.
 */
function printGeneratedToken(token: string, url: string): void {
  process.stderr.write(
    [
      "",
      "AUTH_TOKENS is not set, so this run accepts one generated upload token:",
      `  ${token}`,
      "Try an upload:",
      `  curl -F op=upload -F auth=${token} -F uid=1 -F mid=1 -F source=message -F file=@photo.jpg ${url}/upload`,
      "Set AUTH_TOKENS (in the environment or a .env file) to keep a token across restarts.",
      "",
    ].join("\n") + "\n",
  );
}
