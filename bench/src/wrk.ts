/**
 * wrk as the load generator for small uploads: a C client that sends one fixed multipart
 * body over kept-alive connections, so at thousands of uploads a second the client takes
 * a sliver of the CPU the servers need (the bench's Node client takes several times more).
 */
import { spawn } from "node:child_process";
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import type { UploadForm } from "./http-client.ts";
import type { RoundResult } from "./load-loop.ts";
import { multipartBody } from "./payload.ts";
import { reapedChildrenCpuSeconds } from "./proc-cpu.ts";

export const WRK = "/usr/bin/wrk";
const TASKSET = "/usr/bin/taskset";

export async function commandExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The script: the body comes from a file named in the environment; the summary goes out as
 * one JSON line. Answers are not parsed (that would cost wrk CPU per request): a non-2xx
 * status counts as an error, and the stored bytes are checked after every round.
 */
const SCRIPT = `
local f = assert(io.open(os.getenv("BENCH_WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_WRK_TYPE")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_WRK {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** One upload body on disk for wrk, and the script that sends it. */
export interface WrkBody {
  scriptPath: string;
  bodyPath: string;
  contentType: string;
  /** The file part's size: the payload bytes each request moves. */
  size: number;
}

export async function writeWrkBody(
  dir: string,
  name: string,
  form: UploadForm,
  size: number,
): Promise<WrkBody> {
  const body = multipartBody(form.fields, {
    field: form.fileField,
    name: form.fileName,
    type: form.contentType,
    size,
  });
  const scriptPath = join(dir, "upload.lua");
  const bodyPath = join(dir, `${name}.body`);
  await writeFile(scriptPath, SCRIPT);
  await writeFile(bodyPath, await buffer(body.stream()));
  return { scriptPath, bodyPath, contentType: body.contentType, size };
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
}

/**
 * One round: wrk with one thread and `concurrency` connections for `seconds` (wrk takes
 * whole seconds). With `core` set, wrk runs pinned to that core.
 */
export async function wrkRound(
  url: string,
  body: WrkBody,
  options: { concurrency: number; seconds: number; core?: number },
): Promise<RoundResult> {
  const args = [
    "-t1",
    `-c${options.concurrency}`,
    `-d${Math.max(1, Math.round(options.seconds))}s`,
    "--timeout",
    "60s",
    "-s",
    body.scriptPath,
    url,
  ];
  const [command, argv] =
    options.core === undefined
      ? [WRK, args]
      : [TASKSET, ["-c", String(options.core), WRK, ...args]];
  const cpuBefore = reapedChildrenCpuSeconds();
  const child = spawn(command, argv, {
    env: { ...process.env, BENCH_WRK_BODY: body.bodyPath, BENCH_WRK_TYPE: body.contentType },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  // wrk has been waited for by now, so its CPU time is in this process's children's.
  const clientCpuSeconds = reapedChildrenCpuSeconds() - cpuBefore;
  const line = /^BENCH_WRK (.+)$/m.exec(output)?.[1];
  if (code !== 0 || !line) {
    return failedRound(`wrk exited with ${code}: ${output.trim().slice(-300)}`);
  }
  const s = JSON.parse(line) as WrkSummary;
  const errors: string[] = [];
  if (s.status > 0) errors.push(`${s.status} upload(s) answered a status other than 2xx`);
  const socket = s.connect + s.read + s.write + s.timeout;
  if (socket > 0) {
    errors.push(
      `wrk socket errors: connect ${s.connect}, read ${s.read}, write ${s.write}, timeout ${s.timeout}`,
    );
  }
  return {
    requests: s.requests,
    bytes: s.requests * body.size,
    wallMs: s.durationUs / 1000,
    latenciesMs: [],
    latencySummary: { p50Ms: s.p50Us / 1000, p99Ms: s.p99Us / 1000 },
    clientCpuSeconds,
    errors,
  };
}

function failedRound(message: string): RoundResult {
  return { requests: 0, bytes: 0, wallMs: 0, latenciesMs: [], errors: [message] };
}
