import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import type { StorageAdapter } from "@mediagate/core";
import { expect } from "vitest";
import { providers, type ProviderName } from "../../src/storage/providers/index.ts";
import type { BackendFixture, RunningBackend } from "../backends/types.ts";
import { startGatewayProcess, type GatewayProcess } from "./gateway-process.ts";

export const TOKEN = "e2e-upload-token-0123456789";
export const ROTATED_TOKEN = "e2e-rotated-token-9876543210";
/** Download URLs use this public origin (with a path, as behind a proxy); tests map it back. */
export const PUBLIC_BASE_URL = "https://media.example.test/gw";

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.push(relative(dir, path).split(sep).join("/"));
    }
  };
  await walk(dir);
  return found.sort();
}

/** A backend fixture, a gateway process on it, and the views tests need of both. */
export class BackendSession {
  backend!: RunningBackend;
  gateway!: GatewayProcess;
  /** An adapter on the same store, built by the gateway's own provider: for metadata checks. */
  adapter!: StorageAdapter;
  spoolDir!: string;

  readonly fixture: BackendFixture;

  constructor(fixture: BackendFixture) {
    this.fixture = fixture;
  }

  #env: Record<string, string> = {};

  /** The environment the gateway runs with (for CLI commands against the same store). */
  gatewayEnv(): Record<string, string> {
    return { ...this.#env };
  }

  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    this.backend = await this.fixture.start();
    this.spoolDir = await mkdtemp(join(tmpdir(), "mediagate-e2e-spool-"));
    this.#env = {
      ...this.backend.env,
      AUTH_TOKENS: `${TOKEN},${ROTATED_TOKEN}`,
      PUBLIC_BASE_URL,
      SPOOL_DIR: this.spoolDir,
      ...extraEnv,
    };
    this.gateway = await startGatewayProcess(this.#env);
    const name = this.backend.env.STORAGE_PROVIDER as ProviderName;
    const provider = providers[name];
    if (!provider) throw new Error(`no provider ${name}`);
    this.adapter = await provider.create(provider.env.parse(this.backend.env), {
      createBucket: false,
    });
  }

  /** Stops the gateway and starts it again on the same store, with `changes` to its environment. */
  async restartGateway(changes: Record<string, string>): Promise<void> {
    await this.gateway.stop();
    this.#env = { ...this.#env, ...changes };
    this.gateway = await startGatewayProcess(this.#env);
  }

  #backendStopped = false;

  /** Stops the backend once, whether a test or the final clean-up asks first. */
  async stopBackend(): Promise<void> {
    if (this.#backendStopped || !this.backend) return;
    this.#backendStopped = true;
    await this.backend.stop();
  }

  readonly #tempDirs: string[] = [];

  /** A temp folder for this session's own files (a ledger), removed at stop. */
  async tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "mediagate-e2e-session-"));
    this.#tempDirs.push(dir);
    return dir;
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    await this.stopBackend();
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
    for (const dir of this.#tempDirs) await rm(dir, { recursive: true, force: true });
  }

  /** The gateway's address for a download URL it returned. */
  local(url: string): string {
    expect(url.startsWith(`${PUBLIC_BASE_URL}/files/`)).toBe(true);
    return this.gateway.url + url.slice(PUBLIC_BASE_URL.length);
  }

  keyOf(url: string): string {
    return url.slice(`${PUBLIC_BASE_URL}/files/`.length);
  }

  inventory() {
    return this.backend.inventory();
  }

  /** Files in the spool folder that are not the adapter's empty bookkeeping folders. */
  spoolFiles(): Promise<string[]> {
    return filesUnder(this.spoolDir);
  }

  /**
   * Waits until storage holds exactly `before`'s objects and no debris, and the spool is
   * empty: what every refused or aborted upload must leave.
   */
  async expectUntouched(before: { objects: string[] }): Promise<void> {
    await expect
      .poll(async () => ({ ...(await this.inventory()), spool: await this.spoolFiles() }), {
        timeout: 10_000,
        interval: 50,
      })
      .toEqual({ objects: before.objects, leftovers: [], spool: [] });
  }
}
