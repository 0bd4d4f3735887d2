import type { Request, Response } from "express";
import { Router } from "express";
import { HttpError, sendError } from "../http/errors.ts";
import type { Lifecycle } from "../server/lifecycle.ts";

export interface ReadinessCheck {
  /** What is checked, for the answer: the backend's name, "ledger". */
  name: string;
  check(signal: AbortSignal): Promise<void>;
}

/** One check's outcome; `error` is what it threw. */
export interface CheckOutcome {
  name: string;
  ok: boolean;
  ms: number;
  error?: unknown;
}

async function runCheck({ name, check }: ReadinessCheck, timeoutMs: number): Promise<CheckOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    await check(AbortSignal.timeout(timeoutMs));
    return { name, ok: true, ms: ms() };
  } catch (error) {
    return { name, ok: false, ms: ms(), error };
  }
}

/**
 * Runs the readiness checks, each with its own time limit: in order, stopping at the first
 * failure (a probe needs only a yes or no), or all at once when `all` (a status page shows
 * every one).
 */
export async function runChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
  { all = false }: { all?: boolean } = {},
): Promise<CheckOutcome[]> {
  if (all) return Promise.all(checks.map((check) => runCheck(check, timeoutMs)));
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    const outcome = await runCheck(check, timeoutMs);
    outcomes.push(outcome);
    if (!outcome.ok) break;
  }
  return outcomes;
}

/** The refusal a failed check answers /readyz with. */
export function checkFailure(name: string, storageName: string | undefined): HttpError {
  return name === storageName
    ? new HttpError("STORAGE_UNAVAILABLE", `The ${name} storage backend is not usable.`)
    : new HttpError("LEDGER_UNAVAILABLE", `The ${name} is not usable.`);
}

export interface HealthRouteOptions {
  lifecycle: Lifecycle;
  /** Everything an upload needs: the storage backend, the ledger. */
  checks: ReadinessCheck[];
  /** How long a readiness probe may wait for each. */
  checkTimeoutMs?: number;
}

/** GET /healthz: the process is alive. GET /readyz: uploads can be stored right now. */
export function healthRouter({
  lifecycle,
  checks,
  checkTimeoutMs = 5000,
}: HealthRouteOptions): Router {
  const router = Router();
  router.get("/healthz", (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-store").json({ result: true, status: "alive" });
  });
  router.get("/readyz", async (req: Request, res: Response) => {
    if (lifecycle.draining) {
      return sendError(res, new HttpError("SHUTTING_DOWN", "The server is shutting down."));
    }
    const [storage, ...rest] = checks;
    const failed = (await runChecks(checks, checkTimeoutMs)).find((outcome) => !outcome.ok);
    if (failed) {
      req.log.warn({ err: failed.error, check: failed.name }, "readiness check failed");
      return sendError(res, checkFailure(failed.name, storage?.name));
    }
    res.set("Cache-Control", "no-store").json({
      result: true,
      status: "ready",
      storage: storage?.name,
      ...(rest.length > 0 && { checked: checks.map((c) => c.name) }),
    });
  });
  return router;
}
