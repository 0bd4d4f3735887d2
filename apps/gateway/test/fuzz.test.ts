import { Agent, request } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import { BackendSession, PUBLIC_BASE_URL, TOKEN } from "./support/backend-session.ts";
import { send } from "./support/http.ts";
import { hostileRequest, type HostileRequest } from "./support/hostile-multipart.ts";

/** Volume on fs (cheapest backend); a smaller sample on each other backend. */
// Sized for CI (the whole run stays under 15 minutes); FUZZ_RUNS=100000 for a long run.
const RUNS: Record<string, number> = { fs: Number(process.env.FUZZ_RUNS ?? 3000) };
const OTHER_RUNS = Number(process.env.FUZZ_RUNS_OTHER ?? 400);
const CONCURRENCY = 8;

interface Outcome {
  status: number;
  json: unknown;
  contentType: string | undefined;
  error?: string;
}

function post(url: string, agent: Agent, req: HostileRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const headers: Record<string, string> = { "Content-Length": String(req.body.length) };
    if (req.contentType !== undefined) headers["Content-Type"] = req.contentType;
    const r = request({ host: hostname, port, path: "/upload", method: "POST", headers, agent });
    r.on("error", (err) =>
      resolve({ status: 0, json: undefined, contentType: undefined, error: err.message }),
    );
    r.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, contentType: res.headers["content-type"] });
      });
    });
    r.end(req.body);
  });
}

/** What is wrong with an answer, or undefined when it is one the contract allows. */
function problemWith(outcome: Outcome): string | undefined {
  if (outcome.error) return `no answer: ${outcome.error}`;
  if (!outcome.contentType?.startsWith("application/json"))
    return `not JSON (${outcome.contentType})`;
  const body = outcome.json as { result?: unknown; url?: unknown; error?: { code?: unknown } };
  if (outcome.status === 200) {
    return body?.result === true && typeof body.url === "string" ? undefined : "200 without a URL";
  }
  if (outcome.status < 400 || outcome.status > 599) return `status ${outcome.status}`;
  if (body?.result !== false) return "failure without result: false";
  if (typeof body.error?.code !== "string") return "failure without an error code";
  if (outcome.status === 500) return "500: an unexpected error";
  // The backend is healthy throughout: a 503 would blame it for the client's body.
  if (outcome.status === 503) return `503 ${String(body.error.code)} on a healthy backend`;
  return undefined;
}

describe.each(backends)("fuzzing the upload route on $name", (fixture) => {
  const session = new BackendSession(fixture);
  beforeAll(() => session.start({ LOG_LEVEL: "info" }), 60_000);
  afterAll(() => session.stop(), 60_000);

  it("hostile multipart bodies: JSON 4xx/5xx, never a crash, never result: true without an object", async () => {
    const runs = RUNS[fixture.name] ?? OTHER_RUNS;
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const samples = fc.sample(hostileRequest(TOKEN), { numRuns: runs, seed });
    const before = await session.inventory();
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const histogram: Record<string, number> = {};
    const problems: { problem: string; recipe: string[] }[] = [];
    const stored: string[] = [];
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < samples.length) {
        const sample = samples[next++];
        if (!sample) break;
        const outcome = await post(session.gateway.url, agent, sample);
        const code = (outcome.json as { error?: { code?: string } } | undefined)?.error?.code;
        const label = `${outcome.status}${code ? ` ${code}` : ""}`;
        histogram[label] = (histogram[label] ?? 0) + 1;
        const problem = problemWith(outcome);
        if (problem) problems.push({ problem, recipe: sample.recipe });
        else if (outcome.status === 200) {
          stored.push(
            (outcome.json as { url: string }).url.slice(`${PUBLIC_BASE_URL}/files/`.length),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    agent.destroy();
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `[fuzz:${fixture.name}] ${runs} bodies (seed ${seed}) in ${seconds.toFixed(1)} s ` +
        `(${Math.round(runs / seconds)}/s); statuses: ${JSON.stringify(
          Object.fromEntries(Object.entries(histogram).sort(([, a], [, b]) => b - a)),
        )}`,
    );
    const errors = session.gateway.logs().filter((l) => Number(l.level) >= 50);
    expect(
      JSON.stringify({ problems: problems.slice(0, 5), errors: errors.slice(0, 5) }, null, 1),
    ).toBe(JSON.stringify({ problems: [], errors: [] }, null, 1));
    // Alive and ready, with exactly the objects the 200s announced and nothing else.
    expect((await send(`${session.gateway.url}/readyz`)).status).toBe(200);
    await expect
      .poll(async () => ({ ...(await session.inventory()), spool: await session.spoolFiles() }), {
        timeout: 15_000,
        interval: 100,
      })
      .toEqual({ objects: [...before.objects, ...stored].sort(), leftovers: [], spool: [] });
    const logs = session.gateway.logs();
    expect(logs.filter((l) => /unhandled|uncaught/i.test(String(l.msg)))).toEqual([]);
    expect(session.gateway.stderr()).not.toMatch(/uncaught|unhandled|Error:/i);
  }, 180_000);
});
