/**
 * How much work one round of a benchmark cell does. A round keeps `concurrency` requests in
 * flight until it has issued at least `minRequests` and either `maxSeconds` have passed or
 * `maxRequests` were issued: small bodies are measured for a fixed time, large ones by count.
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
  latenciesMs: number[];
  /** First error messages; a round stops issuing requests after its first failure. */
  errors: string[];
}

/** One request of the system under test; resolves with the payload bytes it moved. */
export type Operation = (index: number) => Promise<number>;

export async function runRound(plan: RoundPlan, operation: Operation): Promise<RoundResult> {
  const latenciesMs: number[] = [];
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
        // Not `bytes += await …`: that reads `bytes` before awaiting and loses other
        // workers' additions.
        const moved = await operation(index);
        bytes += moved;
        latenciesMs.push(performance.now() - t0);
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
    errors: errors.slice(0, 3),
  };
}
