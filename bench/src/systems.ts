/**
 * The systems compared on one backend, each in a child process of its own, started the
 * first time a group needs it and stopped when the backend is done. On fs every system
 * writes to a folder of its own under the backend's root, so each can be emptied and
 * counted on its own; on the cloud backends they share the bucket, which is emptied
 * between rounds (only one system writes at a time).
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { BackendEndpoint, BackendName } from "./backend.ts";
import type { Child } from "./child-process.ts";
import { gatewayExists, startGateway, type RunningGateway } from "./gateway.ts";
import { payloadStream } from "./payload.ts";
import type { SystemKind } from "./results.ts";
import { request } from "./rpc.ts";
import { fsSdk } from "./sdk/fs.ts";
import type { RunningStorage } from "./storage.ts";
import { logFile, startScript, type Purge, type SuiteOptions } from "./suite-context.ts";

/** Which systems each kind of group sets side by side, per backend. */
export const CATALOG: Record<"upload" | "mix" | "download", Record<BackendName, SystemKind[]>> = {
  upload: {
    fs: [
      "gateway",
      "unsyncedGateway",
      "multerDisk",
      "busboy",
      "durableBusboy",
      "adapterBusboy",
      "durableAdapterBusboy",
      "naive",
      "direct",
      "drain",
    ],
    s3: ["gateway", "multerS3", "naive", "direct"],
    azure: ["gateway", "naive", "direct"],
    gcs: ["gateway", "naive", "direct"],
  },
  // The naive baseline would hold sixty-four files in memory at once: left out.
  mix: {
    fs: ["gateway", "unsyncedGateway", "multerDisk", "busboy", "durableBusboy", "direct"],
    s3: ["gateway", "multerS3", "direct"],
    azure: ["gateway", "direct"],
    gcs: ["gateway", "direct"],
  },
  download: {
    fs: ["gateway", "pipe"],
    s3: ["gateway", "direct"],
    azure: ["gateway", "direct"],
    gcs: ["gateway", "direct"],
  },
};

/** References that judge nothing; skipped where a round would move too much (plan). */
export const EXTRA_REFERENCES: readonly SystemKind[] = [
  "drain",
  "adapterBusboy",
  "durableAdapterBusboy",
  "multerDisk",
  "multerS3",
];

export interface RunningSystem {
  system: SystemKind;
  /** The process under test. */
  pid: number;
  /** Where uploads go (HTTP systems). */
  uploadUrl?: string;
  /** The gateway's handle (gateway systems). */
  gateway?: RunningGateway;
  /** The SDK runner (the direct system). */
  runner?: Child<object>;
  /** The pipe's URL for the file of `size` bytes (the pipe). */
  pipeUrl?: (size: number) => string;
  /** Empties what the system stored; undefined where it stores nothing (the drain). */
  purge?: Purge;
}

const SCRIPTS: Partial<Record<SystemKind, { script: string; env?: Record<string, string> }>> = {
  naive: { script: "naive-express.ts" },
  multerDisk: { script: "multer-disk.ts" },
  multerS3: { script: "multer-s3.ts" },
  busboy: { script: "busboy-disk.ts", env: { BENCH_DURABLE: "0" } },
  durableBusboy: { script: "busboy-disk.ts", env: { BENCH_DURABLE: "1" } },
  adapterBusboy: { script: "busboy-adapter.ts", env: { BENCH_DURABLE: "0" } },
  durableAdapterBusboy: { script: "busboy-adapter.ts", env: { BENCH_DURABLE: "1" } },
  drain: { script: "drain.ts" },
};

export class BackendSystems {
  private readonly started = new Map<SystemKind, Promise<RunningSystem>>();
  private readonly stoppers: (() => Promise<void>)[] = [];
  private readonly options: SuiteOptions;
  readonly backend: BackendName;
  readonly storage: RunningStorage;

  constructor(options: SuiteOptions, backend: BackendName, storage: RunningStorage) {
    this.options = options;
    this.backend = backend;
    this.storage = storage;
  }

  /** The system, started on first use; rejects when it cannot start. */
  get(system: SystemKind): Promise<RunningSystem> {
    let running = this.started.get(system);
    if (!running) {
      running = this.start(system);
      this.started.set(system, running);
    }
    return running;
  }

  /** Whether the system runs at all in this run (`--systems`). */
  wanted(system: SystemKind): boolean {
    return !this.options.systems || this.options.systems.includes(system);
  }

  async stop(): Promise<void> {
    for (const stop of this.stoppers.reverse()) await stop().catch(() => {});
    this.stoppers.length = 0;
  }

  /** Where a system keeps its objects on fs; the shared endpoint elsewhere. */
  private endpointFor(system: SystemKind): BackendEndpoint {
    const { endpoint } = this.storage;
    return endpoint.provider === "fs"
      ? { provider: "fs", root: join(endpoint.root, system) }
      : endpoint;
  }

  /** A purge of the system's own folder on fs; of the whole bucket, through the runner, elsewhere. */
  private purgeFor(system: SystemKind): Purge {
    const endpoint = this.endpointFor(system);
    if (endpoint.provider === "fs") {
      const store = fsSdk(endpoint.root);
      return () => store.purge();
    }
    return async () => {
      const { runner } = await this.get("direct");
      if (!runner) throw new Error("the SDK runner is not running");
      return request(runner.process, { type: "purge" });
    };
  }

  private async start(system: SystemKind): Promise<RunningSystem> {
    const { options, backend } = this;
    const endpoint = this.endpointFor(system);
    if (endpoint.provider === "fs") await mkdir(endpoint.root, { recursive: true });
    const name = `${backend}-${system}`;
    const purge = system === "drain" ? undefined : this.purgeFor(system);

    if (system === "gateway" || system === "unsyncedGateway") {
      if (!(await gatewayExists(options.gatewayDir))) {
        throw new Error(
          "the compiled gateway (apps/gateway/dist) is missing; npm run bench builds it",
        );
      }
      // Each gateway gets its own working folder, so their spools never mix.
      const cwd = join(options.workDir, name);
      await mkdir(cwd, { recursive: true });
      if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
      const gateway = await startGateway(endpoint, {
        cwd,
        env: {
          ...(system === "unsyncedGateway" ? { FS_DURABLE: "false" } : {}),
          ...options.gatewayEnv,
        },
        logFile: logFile(options, `${name}`),
        gatewayDir: options.gatewayDir,
        nodeArgs: options.profileDir
          ? [
              "--cpu-prof",
              `--cpu-prof-dir=${options.profileDir}`,
              `--cpu-prof-name=gateway-${name}-\${pid}.cpuprofile`,
            ]
          : [],
      });
      this.stoppers.push(() => gateway.child.stop());
      return { system, pid: gateway.child.pid, uploadUrl: gateway.uploadUrl, gateway, purge };
    }

    if (system === "direct") {
      const runner = await startScript(options, `${name}-runner`, "sdk-runner.ts", {
        BENCH_BACKEND: JSON.stringify(endpoint),
      });
      this.stoppers.push(() => runner.stop());
      return { system, pid: runner.pid, runner, purge };
    }

    if (system === "pipe") return this.startPipe(name);

    const spec = SCRIPTS[system];
    if (!spec) throw new Error(`${system} does not run on ${backend}`);
    const env: Record<string, string> = {
      ...spec.env,
      BENCH_BACKEND: JSON.stringify(endpoint),
      ...(endpoint.provider === "fs" ? { BENCH_DIR: endpoint.root } : {}),
    };
    const child = await startScript(options, name, spec.script, env);
    this.stoppers.push(() => child.stop());
    return {
      system,
      pid: child.pid,
      uploadUrl: `http://127.0.0.1:${child.info.port}/upload`,
      purge,
    };
  }

  /** The download reference: the plan's sizes as files, served by a read-stream pipe. */
  private async startPipe(name: string): Promise<RunningSystem> {
    const dir = join(this.options.workDir, "pipe");
    await mkdir(dir, { recursive: true });
    for (const size of this.options.plan.sizes) {
      await pipeline(payloadStream(size), createWriteStream(join(dir, `${size}.bin`)));
    }
    const server = await startScript(this.options, name, "static-pipe.ts", { BENCH_DIR: dir });
    this.stoppers.push(async () => {
      await server.stop();
      await fsSdk(dir).purge();
    });
    return {
      system: "pipe",
      pid: server.pid,
      pipeUrl: (size) => `http://127.0.0.1:${server.info.port}/${size}.bin`,
    };
  }
}
