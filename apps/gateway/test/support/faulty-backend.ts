import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { RESERVED_DIR } from "@mediagate/fs";
import { startFaultProxy, type FaultProxy } from "@mediagate/test-servers";
import { providers, type ProviderName } from "../../src/storage/providers/index.ts";
import type { BackendFixture, RunningBackend } from "../backends/types.ts";

/** The variable that holds each network backend's endpoint URL. */
const ENDPOINT_VARIABLE: Record<string, string> = {
  s3: "S3_ENDPOINT",
  gcs: "GCS_API_ENDPOINT",
  azure: "AZURE_BLOB_ENDPOINT",
};

/**
 * A backend fixture whose availability the test controls. Network backends sit behind a
 * fault-injection TCP proxy (the gateway is pointed at the proxy); the fs backend's outage
 * is its root folder disappearing.
 */
export interface FaultyBackend {
  readonly name: string;
  /** Environment for the gateway, reaching the backend through the proxy. */
  readonly env: Record<string, string>;
  /** The proxy, for network backends. */
  readonly proxy: FaultProxy | undefined;
  readonly running: RunningBackend;
  /** Makes the backend unreachable (connections refused / root gone). */
  down(): Promise<void>;
  /** Makes it reachable again, on the same address. */
  up(): Promise<void>;
  inventory(): Promise<{ objects: string[]; leftovers: string[] }>;
  /**
   * fs only: object files (outside the adapter's reserved folder) in the folders that
   * vanished in an outage, as an unmounted volume keeps them. A write cut off by the outage
   * must not have committed one there either.
   */
  vanishedObjects(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * The fixture's inventory, read again when it trips over an object that vanished while being
 * listed (a cleanup placeholder an adapter creates and deletes at once): that race is the
 * listing's, not a finding.
 */
async function steadyInventory(running: RunningBackend) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await running.inventory();
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

/**
 * Starts the fixture, creates its bucket directly (so a gateway started while the backend is
 * down needs no STORAGE_CREATE_BUCKET), and puts the proxy in front, down if asked.
 */
export async function startFaultyBackend(
  fixture: BackendFixture,
  options: { startDown: boolean },
): Promise<FaultyBackend> {
  const running = await fixture.start();
  const name = running.env.STORAGE_PROVIDER as ProviderName;
  const provider = providers[name];
  if (!provider) throw new Error(`no provider ${name}`);
  await provider.create(provider.env.parse(running.env), { createBucket: true });
  const env: Record<string, string> = { ...running.env, STORAGE_CREATE_BUCKET: "false" };

  const variable = ENDPOINT_VARIABLE[name];
  if (!variable) {
    const root = running.env.FS_ROOT;
    if (!root) throw new Error("fs fixture without FS_ROOT");
    // The folder vanishes in one step (a rename), as an unmounted volume would; deleting it
    // in place races the gateway's own writes into it (rmdir → ENOTEMPTY). It is kept aside,
    // as an unmounted volume keeps what was on it, until stop().
    const vanished: string[] = [];
    const down = async () => {
      const gone = `${root}.gone-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      await rename(root, gone).then(
        () => vanished.push(gone),
        (err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw err;
        },
      );
    };
    const vanishedObjects = async () => {
      const objects: string[] = [];
      for (const dir of vanished) {
        for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
          const path = relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/");
          if (entry.isFile() && !path.startsWith(`${RESERVED_DIR}/`)) objects.push(path);
        }
      }
      return objects.sort();
    };
    const up = async () => {
      await mkdir(root, { recursive: true });
    };
    if (options.startDown) await down();
    return {
      name,
      env,
      proxy: undefined,
      running,
      down,
      up,
      inventory: () => running.inventory(),
      vanishedObjects,
      async stop() {
        await running.stop();
        for (const dir of vanished) await rm(dir, { recursive: true, force: true });
      },
    };
  }

  const target = new URL(env[variable] ?? "");
  const proxy = await startFaultProxy({
    targetPort: Number(target.port),
    startDown: options.startDown,
  });
  const through = new URL(target.href);
  through.port = String(proxy.port);
  env[variable] = through.href.replace(/\/$/, target.href.endsWith("/") ? "/" : "");
  return {
    name,
    env,
    proxy,
    running,
    down: () => proxy.down(),
    up: () => proxy.up(),
    inventory: () => steadyInventory(running),
    vanishedObjects: async () => [],
    async stop() {
      await proxy.stop();
      await running.stop();
    },
  };
}
