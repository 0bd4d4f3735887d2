import type { Readable } from "node:stream";

export interface StallWatch {
  /** Aborts (with a TimeoutError) once the backend made no progress for the timeout. */
  readonly signal: AbortSignal;
  readonly stalled: boolean;
  stop(): void;
}

/** How the watch sees a write: a byte count that grows with progress, and whether the body
 * is waiting on the backend rather than on the client. */
export interface StallProbe {
  progress(): number;
  waitingOnBackend(): boolean;
}

/**
 * Watches a body being written into storage and fires when the backend stops taking it: the
 * body waits on its consumer (paused by backpressure, or fully handed over and awaiting the
 * backend's answer) and no byte moved for `timeoutMs`. A slow client is not a stall: while
 * the body flows but has nothing to give, the clock does not run (IDLE_TIMEOUT covers that).
 * Measured on progress, never on total time, so a big upload may take as long as it needs.
 */
export function watchForStall(probe: StallProbe, timeoutMs: number): StallWatch {
  const controller = new AbortController();
  let lastProgress = Date.now();
  let lastBytes = probe.progress();
  const timer = setInterval(
    () => {
      const bytes = probe.progress();
      if (bytes !== lastBytes || !probe.waitingOnBackend()) {
        lastBytes = bytes;
        lastProgress = Date.now();
        return;
      }
      if (Date.now() - lastProgress >= timeoutMs) {
        stop();
        controller.abort(
          new DOMException(
            `The storage backend made no progress for ${timeoutMs} ms.`,
            "TimeoutError",
          ),
        );
      }
    },
    Math.max(10, Math.min(1000, timeoutMs / 4)),
  );
  timer.unref();
  function stop() {
    clearInterval(timer);
  }
  return {
    signal: controller.signal,
    get stalled() {
      return controller.signal.aborted;
    },
    stop,
  };
}

/** Probe for a readable handed to an adapter: `counted` is what bytes pass through. */
export function readableProbe(source: Readable, progress: () => number): StallProbe {
  return {
    progress,
    waitingOnBackend: () => source.readableEnded || source.readableFlowing === false,
  };
}
