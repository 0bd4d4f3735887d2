/**
 * How much work one round of a benchmark cell does. A round keeps `concurrency` requests in
 * flight until it has issued at least `minRequests` and either `maxSeconds` have passed or
 * `maxRequests` were issued: small bodies are measured for a fixed time, large ones (and the
 * chat mix) by count.
 */
export interface RoundPlan {
  concurrency: number;
  minRequests: number;
  maxRequests: number;
  maxSeconds: number;
}

export interface RoundResult {
  requests: number;
  /** Payload bytes moved by completed requests. */
  bytes: number;
  wallMs: number;
  /** Every completed request's latency (empty when the load generator summarizes: wrk). */
  latenciesMs: number[];
  /** The load generator's own percentiles, where it keeps no per-request list. */
  latencySummary?: { p50Ms: number; p99Ms: number };
  /** Last request byte sent → first answer byte, per upload (the Node client's uploads). */
  answersMs?: number[];
  /** CPU the load generator used in the round, where it is a process of its own (wrk). */
  clientCpuSeconds?: number;
  /** First error messages; a round stops issuing requests after its first failure. */
  errors: string[];
}

/** What one request moved; uploads also say how long their answer took after the last byte. */
export type Moved = number | { bytes: number; answerMs?: number };

/** One request of the system under test; `index` counts the round's requests from 0. */
export type Operation = (index: number) => Promise<Moved>;

export async function runRound(plan: RoundPlan, operation: Operation): Promise<RoundResult> {
  const latenciesMs: number[] = [];
  const answersMs: number[] = [];
  const errors: string[] = [];
  let issued = 0;
  let bytes = 0;
  const started = performance.now();
  const keepGoing = () =>
    errors.length === 0 &&
    issued < plan.maxRequests &&
    (issued < plan.minRequests || performance.now() - started < plan.maxSeconds * 1000);

  const worker = async () => {
    while (keepGoing()) {
      const index = issued++;
      const t0 = performance.now();
      try {
        const moved = await operation(index);
        // Not `bytes += await …`: that reads `bytes` before awaiting and loses other
        // workers' additions.
        bytes += typeof moved === "number" ? moved : moved.bytes;
        latenciesMs.push(performance.now() - t0);
        if (typeof moved !== "number" && moved.answerMs !== undefined) {
          answersMs.push(moved.answerMs);
        }
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  return {
    requests: latenciesMs.length,
    bytes,
    wallMs: performance.now() - started,
    latenciesMs,
    answersMs: answersMs.length > 0 ? answersMs : undefined,
    errors: errors.slice(0, 3),
  };
}
