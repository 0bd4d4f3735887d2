import { EventEmitter, once } from "node:events";
import type { ServerResponse } from "node:http";

/**
 * The gateway's run state as request handlers see it: whether it is draining for shutdown,
 * a signal that aborts in-flight uploads once the shutdown deadline passes, and how many
 * requests are still being served.
 */
export class Lifecycle {
  #draining = false;
  /** Responses started and not yet closed. */
  readonly #responses = new Set<ServerResponse>();
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
    return this.#responses.size;
  }

  /**
   * From now on every response ends its connection once sent, including those already in
   * flight: their connections were promised keep-alive, and the server cannot finish closing
   * until each has sat out its keep-alive timeout otherwise.
   */
  startDraining(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const res of this.#responses) closeConnectionAfter(res);
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

  /**
   * Counts a request from its start until its response has finished or failed; while
   * draining, its connection closes after it.
   */
  track(res: ServerResponse): void {
    this.#responses.add(res);
    if (this.#draining) closeConnectionAfter(res);
    res.once("close", () => {
      this.#responses.delete(res);
      if (this.#responses.size === 0) this.#events.emit("idle");
    });
  }

  /** Resolves once no request is in flight, or after `ms`; tells which happened. */
  async idle(ms: number): Promise<boolean> {
    return this.#wait("idle", () => this.#responses.size === 0, ms);
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

/** Makes the connection that carries `res` close once `res` has been sent. */
function closeConnectionAfter(res: ServerResponse): void {
  if (!res.headersSent) {
    // Node reads this header: the socket is ended right after the response.
    res.setHeader("Connection", "close");
    return;
  }
  // The headers went out promising keep-alive; hang up after the last byte instead. A
  // response already sent has left its socket idle, which shutdown closes itself.
  const socket = res.socket;
  if (socket && !res.writableFinished) res.once("finish", () => socket.destroySoon());
}
