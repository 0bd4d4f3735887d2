import type { Request, Response } from "express";
import type { Metrics } from "./metrics.ts";

/** GET /metrics in Prometheus' text format. */
export function metricsRoute(metrics: Metrics) {
  return async (_req: Request, res: Response): Promise<void> => {
    const text = await metrics.registry.metrics();
    res
      .set({ "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" })
      .send(text);
  };
}
