import type { Request, Response } from "express";
import { Router } from "express";
import type { StorageAdapter } from "@mediagate/core";
import { HttpError, sendError } from "../http/errors.ts";
import type { Lifecycle } from "../server/lifecycle.ts";

export interface HealthRouteOptions {
  storage: StorageAdapter;
  lifecycle: Lifecycle;
  /** How long a readiness probe may wait for the backend. */
  checkTimeoutMs?: number;
}

/** GET /healthz: the process is alive. GET /readyz: uploads can be stored right now. */
export function healthRouter({
  storage,
  lifecycle,
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
    try {
      await storage.check({ signal: AbortSignal.timeout(checkTimeoutMs) });
      res
        .set("Cache-Control", "no-store")
        .json({ result: true, status: "ready", storage: storage.name });
    } catch (err) {
      req.log.warn({ err }, "readiness check failed");
      sendError(
        res,
        new HttpError("STORAGE_UNAVAILABLE", `The ${storage.name} storage backend is not usable.`),
      );
    }
  });
  return router;
}
