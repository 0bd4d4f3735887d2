import type { ServerResponse } from "node:http";

/** How an upload request ended. */
export const OUTCOMES = ["ok", "clientError", "serverError", "aborted"] as const;
export type Outcome = (typeof OUTCOMES)[number];

const MINUTE_MS = 60_000;
/** The window the status page shows: the last hour, minute by minute. */
export const WINDOW_MINUTES = 60;

export interface OutcomeTotals {
  ok: number;
  clientError: number;
  serverError: number;
  aborted: number;
}

export interface UploadActivity {
  windowMinutes: number;
  totals: OutcomeTotals;
  /** Oldest minute first, the current (partial) minute last. */
  perMinute: { ok: number[]; errors: number[] };
}

/**
 * Upload outcomes over the last hour, in a ring of per-minute slots. Recording is an
 * increment (and, once a minute, clearing the slot it reuses), so it can sit on every upload
 * response; nothing is kept per request.
 */
export class UploadCounter {
  /** Slot i's counts at [i * 4 + outcome]. */
  readonly #counts = new Uint32Array(WINDOW_MINUTES * OUTCOMES.length);
  /** The minute (ms since the epoch / 60 000) each slot counts; -1 when never used. */
  readonly #minutes = new Float64Array(WINDOW_MINUTES).fill(-1);
  readonly #now: () => number;
  /**
   * A listener for a response's "close": one function for every response, reading the
   * response as `this`, so listening costs no closure per request.
   */
  readonly onResponseClose: (this: ServerResponse) => void;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    const record = (outcome: number) => this.record(outcome);
    this.onResponseClose = function (this: ServerResponse) {
      record(outcomeOf(this));
    };
  }

  record(outcome: number): void {
    const minute = Math.floor(this.#now() / MINUTE_MS);
    const slot = minute % WINDOW_MINUTES;
    const base = slot * OUTCOMES.length;
    if (this.#minutes[slot] !== minute) {
      this.#minutes[slot] = minute;
      this.#counts.fill(0, base, base + OUTCOMES.length);
    }
    this.#counts[base + outcome] = (this.#counts[base + outcome] ?? 0) + 1;
  }

  snapshot(): UploadActivity {
    const current = Math.floor(this.#now() / MINUTE_MS);
    const totals: OutcomeTotals = { ok: 0, clientError: 0, serverError: 0, aborted: 0 };
    const ok: number[] = [];
    const errors: number[] = [];
    for (let minute = current - WINDOW_MINUTES + 1; minute <= current; minute++) {
      const slot = minute % WINDOW_MINUTES;
      const live = this.#minutes[slot] === minute;
      const at = (outcome: number) =>
        live ? (this.#counts[slot * OUTCOMES.length + outcome] ?? 0) : 0;
      OUTCOMES.forEach((name, index) => (totals[name] += at(index)));
      ok.push(at(0));
      errors.push(at(1) + at(2) + at(3));
    }
    return { windowMinutes: WINDOW_MINUTES, totals, perMinute: { ok, errors } };
  }
}

/** 2xx ok, else the status class; a client that left before the whole answer: aborted. */
function outcomeOf(res: ServerResponse): number {
  if (!res.writableFinished) return 3;
  const status = res.statusCode;
  if (status >= 200 && status < 300) return 0;
  return status >= 500 ? 2 : 1;
}
