import { access, readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import type { BackendEndpoint } from "./backend.ts";
import { gatewayStorageEnv } from "./backend.ts";
import { startChild, type Child } from "./child-process.ts";
import { freePort } from "./free-port.ts";
import type { UploadForm } from "./http-client.ts";

/** The token the benchmark's gateways accept (the gateway wants at least 16 characters). */
export const BENCH_TOKEN = "bench-token-0123456789abcdef";

/** The workspace's gateway; `--gateway-dir` points at another build of it. */
const WORKSPACE_GATEWAY = new URL("../../apps/gateway/", import.meta.url);

const gatewayFolder = (dir: string | undefined): URL =>
  dir ? pathToFileURL(dir.endsWith("/") ? dir : `${dir}/`) : WORKSPACE_GATEWAY;

/**
 * How operators run the gateway: `npm start` runs the gateway's `start` script,
 * `[NAME=value…] node <flags> dist/main.js` (the Docker image runs the same, which a gateway
 * test checks). The benchmark reads that script rather than repeating it, so it measures the
 * compiled gateway with the same V8 flags and malloc settings it ships with.
 */
export async function shippedGatewayCommand(
  dir?: string,
): Promise<{ script: string; nodeArgs: string[]; env: Record<string, string> }> {
  const folder = gatewayFolder(dir);
  const manifest = JSON.parse(await readFile(new URL("package.json", folder), "utf8")) as {
    scripts?: { start?: string };
  };
  const words = manifest.scripts?.start?.trim().split(/\s+/) ?? [];
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? "")) {
    const [name = "", ...value] = (words.shift() ?? "").split("=");
    env[name] = value.join("=");
  }
  const script = words.at(-1);
  if (words[0] !== "node" || !script?.endsWith(".js")) {
    throw new Error(
      `apps/gateway's start script is not "[NAME=value…] node [flags] <file>.js": ${words.join(" ")}`,
    );
  }
  return { script: new URL(script, folder).pathname, nodeArgs: words.slice(1, -1), env };
}

export interface RunningGateway {
  child: Child<object>;
  /** The upload URL, as given to Mesibo.setUploadUrl. */
  uploadUrl: string;
}

/**
 * Starts the real gateway as operators do — the compiled gateway, as `npm start` runs it,
 * configured only through environment variables — in its own process, and waits for its
 * readiness probe (which proves the storage backend answers).
 */
export async function startGateway(
  endpoint: BackendEndpoint,
  options: {
    logFile: string;
    nodeArgs?: string[];
    cwd: string;
    /** Extra variables (`S3_PART_SIZE`, `NODE_OPTIONS`…), applied last: tuning experiments. */
    env?: Record<string, string>;
    /** Another build of apps/gateway (`--gateway-dir`). */
    gatewayDir?: string;
  },
): Promise<RunningGateway> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const shipped = await shippedGatewayCommand(options.gatewayDir);
  const child = await startChild({
    name: `gateway (${endpoint.provider})`,
    script: shipped.script,
    sourceConditions: false,
    cwd: options.cwd,
    nodeArgs: [...shipped.nodeArgs, ...(options.nodeArgs ?? [])],
    logFile: options.logFile,
    env: {
      ...shipped.env,
      ...gatewayStorageEnv(endpoint),
      NODE_ENV: "production",
      AUTH_TOKENS: BENCH_TOKEN,
      PUBLIC_BASE_URL: origin,
      HOST: "127.0.0.1",
      PORT: String(port),
      MAX_FILE_SIZE: "1gb",
      LOG_LEVEL: "info",
      SPOOL_DIR: `${options.cwd}/spool`,
      // The direct SDK client waits on a storage server without limit. Sixteen 512 MiB
      // uploads into s3rver on one disk can leave it taking no bytes for over a minute while
      // it joins parts (disk-bound), which the default 60 s would answer with 504: the
      // gateway is given the same patience as what it is compared with.
      STORAGE_TIMEOUT: "10m",
      // main.ts reads a .env from where npm was started; an operator's .env must not leak in.
      INIT_CWD: options.cwd,
      ...options.env,
    },
    readiness: { kind: "http", url: `${origin}/readyz` },
    readyTimeoutMs: 60_000,
  });
  return { child, uploadUrl: `${origin}/upload` };
}

/** Whether the compiled gateway is there (`npm run bench` builds it first). */
export const gatewayExists = async (dir?: string): Promise<boolean> => {
  const { script } = await shippedGatewayCommand(dir);
  return access(script).then(
    () => true,
    () => false,
  );
};

/** What a mesibo client posts with upload number `index`. */
export function mesiboForm(index: number, size: number): UploadForm {
  return {
    fields: {
      op: "upload",
      auth: BENCH_TOKEN,
      uid: "1001",
      mid: String(1_000_000 + index),
      source: "0",
    },
    fileField: "file",
    fileName: `bench-${size}.bin`,
    contentType: "application/octet-stream",
  };
}
