import type { NextFunction, Request, Response } from "express";
import { HttpError, sendError } from "../http/errors.ts";
import { noteRefusal } from "../http/logging.ts";

/**
 * Guards on how an upload arrives, against clients that hold descriptors without sending:
 * how many uploads one address may have in flight, a floor on the body's rate, and how long
 * a file that came before its fields may wait for them. Each refusal is JSON; the socket is
 * then closed (lingering, see server/linger.ts), so the client can read it.
 */
export interface PaceConfig {
  /** Uploads one client address (req.ip, so behind TRUST_PROXY) may have in flight. */
  maxUploadsPerAddress: number;
  /** Bytes per second a body must average over `rateWindowMs`, once that long has passed. */
  minBytesPerSecond: number;
  rateWindowMs: number;
  /** Longest a file part that came before its fields waits for the rest of the form. */
  fieldsTimeoutMs: number;
}

/** Refuses the request now, in JSON, and ends its connection once answered. */
export function cutUpload(req: Request, error: HttpError): void {
  const res = req.res;
  if (!res || res.headersSent) {
    req.socket.destroy();
    return;
  }
  res.set("Connection", "close");
  noteRefusal(res, { code: error.code, reason: error.message });
  sendError(res, error);
}

/** Counts uploads in flight per address; refuses one more with 429 TOO_MANY_UPLOADS. */
export function limitConcurrentUploads(max: number) {
  const inFlight = new Map<string, number>();
  return (req: Request, res: Response, next: NextFunction): void => {
    if (max <= 0) return next();
    const address = req.ip ?? req.socket.remoteAddress ?? "unknown";
    const mine = inFlight.get(address) ?? 0;
    if (mine >= max) {
      res.set({ Connection: "close", "Retry-After": "1" });
      return next(
        new HttpError(
          "TOO_MANY_UPLOADS",
          "Too many uploads in flight from this address; try again shortly.",
        ),
      );
    }
    inFlight.set(address, mine + 1);
    res.once("close", () => {
      const left = (inFlight.get(address) ?? 1) - 1;
      if (left > 0) inFlight.set(address, left);
      else inFlight.delete(address);
    });
    next();
  };
}

/**
 * Cuts a body arriving slower than `minBytesPerSecond` over each `rateWindowMs` (408
 * UPLOAD_TOO_SLOW). Time the gateway itself holds the body back (a slow store applying
 * backpressure) does not count against the client. One timer watches every upload, so an
 * upload costs a set entry, not a timer of its own.
 */
export function enforceBodyRate(config: Pick<PaceConfig, "minBytesPerSecond" | "rateWindowMs">) {
  const floor = (config.minBytesPerSecond * config.rateWindowMs) / 1000;
  const watched = new Map<Request, { res: Response; mark: number; markedAt: number }>();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = Date.now();
    for (const [req, entry] of watched) {
      const { res } = entry;
      const socket = req.socket;
      if (req.complete || res.headersSent) {
        watched.delete(req);
        continue;
      }
      // Each upload is judged on whole windows of its own, not on the timer's.
      const elapsed = now - entry.markedAt;
      if (elapsed < config.rateWindowMs) continue;
      const held = req.readableFlowing === false || socket.isPaused();
      const read = socket.bytesRead - entry.mark;
      entry.mark = socket.bytesRead;
      entry.markedAt = now;
      if (held || read >= (floor * elapsed) / config.rateWindowMs) continue;
      watched.delete(req);
      cutUpload(
        req,
        new HttpError(
          "UPLOAD_TOO_SLOW",
          `The upload arrived slower than ${config.minBytesPerSecond} bytes per second; it was cut.`,
        ),
      );
    }
    if (watched.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    if (config.minBytesPerSecond <= 0) return next();
    watched.set(req, { res, mark: req.socket.bytesRead, markedAt: Date.now() });
    res.once("close", () => watched.delete(req));
    if (!timer) {
      // Several ticks a window, so an upload is judged soon after each of its windows ends.
      timer = setInterval(tick, Math.max(1000, config.rateWindowMs / 4));
      timer.unref();
    }
    next();
  };
}
