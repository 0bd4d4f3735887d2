import type { Request, Response } from "express";
import { Router } from "express";
import { HttpError, sendError } from "../http/errors.ts";
import type { Lifecycle } from "../server/lifecycle.ts";

export interface ReadinessCheck {
  /** What is checked, for the answer: the backend's name, "ledger". */
  name: string;
  check(signal: AbortSignal): Promise<void>;
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
    for (const { name, check } of checks) {
      try {
        await check(AbortSignal.timeout(checkTimeoutMs));
      } catch (err) {
        req.log.warn({ err, check: name }, "readiness check failed");
        const error =
          name === storage?.name
            ? new HttpError("STORAGE_UNAVAILABLE", `The ${name} storage backend is not usable.`)
            : new HttpError("LEDGER_UNAVAILABLE", `The ${name} is not usable.`);
        return sendError(res, error);
      }
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
