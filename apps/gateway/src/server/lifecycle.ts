import { EventEmitter, once } from "node:events";

/**
 * The gateway's run state as request handlers see it: whether it is draining for shutdown,
 * a signal that aborts in-flight uploads once the shutdown deadline passes, and how many
 * requests are still being served.
 */
export class Lifecycle {
  #draining = false;
  #inFlight = 0;
  #work = 0;
  readonly #abort = new AbortController();
  readonly #events = new EventEmitter();

  get draining(): boolean {
    return this.#draining;
  }

  /** Aborted when in-flight work must stop. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  startDraining(): void {
    this.#draining = true;
  }

  abortInFlight(): void {
    this.#abort.abort(new Error("The server is shutting down."));
  }

  /**
   * Marks storage work (a backend write) as started; call the returned function once it has
   * settled. Shutdown waits for this after aborting, so aborted writes finish cleaning up.
   */
  beginWork(): () => void {
    this.#work += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#work -= 1;
      if (this.#work === 0) this.#events.emit("workDone");
    };
  }

  /** Resolves once no storage work is pending, or after `ms`; tells which happened. */
  async workSettled(ms: number): Promise<boolean> {
    return this.#wait("workDone", () => this.#work === 0, ms);
  }

  /** Counts a request from its start until its response has finished or failed. */
  track(res: { once(event: "close", listener: () => void): unknown }): void {
    this.#inFlight += 1;
    res.once("close", () => {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#events.emit("idle");
    });
  }

  /** Resolves once no request is in flight, or after `ms`; tells which happened. */
  async idle(ms: number): Promise<boolean> {
    return this.#wait("idle", () => this.#inFlight === 0, ms);
  }

  async #wait(event: string, done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return true;
    try {
      await once(this.#events, event, { signal: AbortSignal.timeout(ms) });
      return true;
    } catch {
      return done();
    }
  }
}
