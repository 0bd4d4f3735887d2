import { randomBytes } from "node:crypto";
import { TOKEN } from "./backend-session.ts";
import { errorCode } from "./forms.ts";
import { send, type Answer } from "./http.ts";
import { multipart } from "./multipart.ts";

export interface StoredUpload {
  url: string;
  body: Buffer;
  uid: string;
  /** Requests it took, the successful one included. */
  attempts: number;
}

/** Why a request was retried, counted: `SHUTTING_DOWN`, `proxy 502`, `ECONNRESET`… */
export type RetryCounts = Record<string, number>;

const MAX_ATTEMPTS = 10;

/** A retryable failure's name, or undefined when the answer is final. */
function retryReason(outcome: Answer | Error): string | undefined {
  if (outcome instanceof Error) {
    return (outcome as NodeJS.ErrnoException).code ?? outcome.message;
  }
  if (outcome.status === 503 && errorCode(outcome) === "SHUTTING_DOWN") return "SHUTTING_DOWN";
  // nginx's own answer when no gateway took the request (its HTML page, not the gateway's JSON).
  if ((outcome.status === 502 || outcome.status === 504) && outcome.json === undefined) {
    return `proxy ${outcome.status}`;
  }
  return undefined;
}

/**
 * Steady upload load, as real clients make it: `clients` loops each posting one small file
 * after another (a fresh uid each, with Content-Length, as mesibo's SDKs send), and
 * retrying a request that failed in a way a client retries (a connection error, 503
 * SHUTTING_DOWN, the proxy's 502/504) after a short back-off. Anything else is final and
 * kept in `unexpected`.
 */
export class UploadLoad {
  readonly stored: StoredUpload[] = [];
  readonly retries: RetryCounts = {};
  readonly unexpected: string[] = [];
  readonly #url: string;
  #next = 0;
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(uploadUrl: string) {
    this.#url = uploadUrl;
  }

  start(clients: number): void {
    this.#running = true;
    for (let i = 0; i < clients; i++) this.#loops.push(this.#loop());
  }

  /** Lets each client finish the upload it is on (retries included), then resolves. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  async #loop(): Promise<void> {
    while (this.#running) await this.#uploadOne(this.#next++);
  }

  async #uploadOne(n: number): Promise<void> {
    const uid = String(5_000_000 + n);
    const body = randomBytes(1024 + Math.floor(Math.random() * 15 * 1024));
    const form = multipart([
      { name: "op", value: "upload" },
      { name: "auth", value: TOKEN },
      { name: "uid", value: uid },
      { name: "mid", value: String(n) },
      { name: "source", value: "0" },
      { name: "file", filename: `load-${n}.bin`, type: "application/octet-stream", body },
    ]);
    const encoded = Buffer.concat(await form.stream.toArray());
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const outcome = await send(this.#url, {
        method: "POST",
        headers: { "Content-Type": form.contentType },
        body: encoded,
      }).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      if (!(outcome instanceof Error) && outcome.status === 200) {
        const { url } = outcome.json as { url: string };
        this.stored.push({ url, body, uid, attempts: attempt });
        return;
      }
      const reason = retryReason(outcome);
      if (reason === undefined) {
        const answer = outcome as Answer;
        this.unexpected.push(`upload ${n}: ${answer.status} ${answer.text.slice(0, 200)}`);
        return;
      }
      this.retries[reason] = (this.retries[reason] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
    }
    this.unexpected.push(`upload ${n}: gave up after ${MAX_ATTEMPTS} attempts`);
  }
}
