import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@mediagate/test-servers";
import { startGatewayProcess, type GatewayProcess } from "./gateway-process.ts";
import { send } from "./http.ts";

/**
 * Several gateway processes on one shared configuration, each on a port chosen up front and
 * kept across restarts (a load balancer's upstream list names them), each with its own spool
 * folder (SPOOL_DIR is per instance). Every process ever started is kept, for its logs.
 */
export class GatewayCluster {
  readonly ports: number[] = [];
  /** The process serving each port now. */
  readonly instances: GatewayProcess[] = [];
  /** Every process started, in order, restarted ones included. */
  readonly history: GatewayProcess[] = [];
  readonly spoolDirs: string[] = [];
  #env: Record<string, string>;
  #root = "";

  constructor(env: Record<string, string>) {
    this.#env = env;
  }

  /** Picks the ports and spool folders (so a proxy can be configured before any start). */
  async prepare(size: number): Promise<void> {
    this.#root = await mkdtemp(join(tmpdir(), "mediagate-cluster-"));
    for (let i = 0; i < size; i++) {
      this.ports.push(await freePort());
      this.spoolDirs.push(join(this.#root, `spool-${i}`));
    }
  }

  /** Starts every instance at once, each with `extra` on top of the shared environment. */
  async startAll(extra: Record<string, string> = {}): Promise<void> {
    this.#env = { ...this.#env, ...extra };
    await Promise.all(this.ports.map((_, i) => this.#start(i)));
  }

  /** Stops every instance at once (each drains), then starts them all with `extra` added. */
  async restartAll(extra: Record<string, string>): Promise<void> {
    await Promise.all(this.instances.map((gw) => gw.stop()));
    await this.startAll(extra);
  }

  /**
   * SIGTERM to one instance, waits for it to exit, starts a new one on the same port and
   * resolves with the old one's exit once the new one's /readyz answers 200.
   */
  async restart(i: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const old = this.instances[i];
    if (!old) throw new Error(`no instance ${i}`);
    old.signal("SIGTERM");
    const exit = await old.exited;
    await this.#start(i);
    await this.ready(i);
    return exit;
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.ports[i]}`;
  }

  /** Polls the instance's /readyz until it answers 200 (storage and ledger usable). */
  async ready(i: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await send(`${this.url(i)}/readyz`).then(
        (a) => a.status,
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`instance ${i} not ready (last ${status})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** JSON log lines of every process that served any port. */
  allLogs(): Record<string, unknown>[] {
    return this.history.flatMap((gw) => gw.logs());
  }

  /** Files left in the instances' spool folders. */
  async spoolLeftovers(): Promise<string[]> {
    const found: string[] = [];
    for (const dir of this.spoolDirs) {
      const names = await readdir(dir).catch(() => [] as string[]);
      found.push(...names.map((name) => join(dir, name)));
    }
    return found;
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.map((gw) => gw.stop()));
    if (this.#root) await rm(this.#root, { recursive: true, force: true });
  }

  async #start(i: number): Promise<void> {
    const gw = await startGatewayProcess({
      ...this.#env,
      PORT: String(this.ports[i]),
      SPOOL_DIR: this.spoolDirs[i] ?? "",
    });
    this.instances[i] = gw;
    this.history.push(gw);
  }
}
