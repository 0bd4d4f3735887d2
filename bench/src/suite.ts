import { writeFile } from "node:fs/promises";
import type { BackendName } from "./backend.ts";
import { directDownloadContender, httpDownloadContender, uploadContender } from "./contenders.ts";
import { mesiboForm } from "./gateway.ts";
import { measureGroup, skippedCell, type Contender } from "./group.ts";
import { groupName, type GroupSpec } from "./groups.ts";
import { keepAliveAgent, uploadOnce } from "./http-client.ts";
import { memoryProbe } from "./memory-probe.ts";
import { mixSizes } from "./mix.ts";
import { roundPlan } from "./plan.ts";
import type { CellId, CellResult, MemoryProbe, SystemKind } from "./results.ts";
import { request } from "./rpc.ts";
import { startStorage } from "./storage.ts";
import { logFile, type SuiteOptions } from "./suite-context.ts";
import { BackendSystems, CATALOG, EXTRA_REFERENCES } from "./systems.ts";
import { formatSize } from "./units.ts";

export type { SuiteOptions } from "./suite-context.ts";

const RUN_STARTED = performance.now();

interface Recorders {
  cell(cell: CellResult): void;
  probe(probe: MemoryProbe): void;
}

/** Every group of one backend, in the order they run: the memory probe first (a fresh gateway). */
export function plannedGroups(options: SuiteOptions, backend: BackendName): GroupSpec[] {
  const { plan } = options;
  const groups: GroupSpec[] = [{ backend, kind: "memory" }];
  const grid = plan.sizes.flatMap((size) =>
    plan.concurrencies.map((concurrency) => ({ size, concurrency })),
  );
  for (const cell of grid) groups.push({ backend, kind: "upload", ...cell });
  groups.push({ backend, kind: "mix", concurrency: plan.mix.concurrency });
  if (plan.downloads) {
    for (const cell of grid) {
      groups.push({ backend, kind: "download", ...cell }, { backend, kind: "range", ...cell });
    }
  }
  return groups.filter((g) => options.selects(g));
}

/**
 * Runs every group the plan and the filter ask for, backend by backend: each backend's
 * storage server and systems are started once and stopped when it is done.
 */
export async function runSuite(
  options: SuiteOptions,
): Promise<{ cells: CellResult[]; probes: MemoryProbe[]; problems: string[] }> {
  const cells: CellResult[] = [];
  const probes: MemoryProbe[] = [];
  const problems: string[] = [];
  const recorders: Recorders = {
    cell: (cell) => {
      cells.push(cell);
      options.onCell(cell);
    },
    probe: (probe) => {
      probes.push(probe);
      options.onProbe(probe);
    },
  };
  for (const backend of options.plan.backends) {
    const groups = plannedGroups(options, backend);
    if (groups.length === 0) continue;
    try {
      await runBackend(options, backend, groups, recorders);
    } catch (err) {
      // One backend that cannot start must not cost the figures of the others.
      const message = `${backend}: ${(err as Error).message}`;
      problems.push(message);
      options.log(`  FAILED ${message}`);
    }
  }
  return { cells, probes, problems };
}

async function runBackend(
  options: SuiteOptions,
  backend: BackendName,
  groups: GroupSpec[],
  record: Recorders,
) {
  options.log(`backend ${backend}: ${groups.length} group(s)`);
  const storage = await startStorage(backend, {
    workDir: options.workDir,
    logFile: logFile(options, `${backend}-server`),
  });
  const systems = new BackendSystems(options, backend, storage);
  let downloads: Map<number, { url: string; key: string }> | undefined;
  try {
    for (const group of groups) {
      const elapsed = Math.round((performance.now() - RUN_STARTED) / 1000);
      options.log(`  ${groupName(group)} (at ${elapsed} s)`);
      if (group.kind === "memory") {
        if (!systems.wanted("gateway")) continue;
        const gateway = await systems.get("gateway");
        if (!gateway.gateway || !gateway.purge) continue;
        record.probe(
          await memoryProbe(backend, gateway.gateway, options.plan.memoryProbeSize, gateway.purge),
        );
      } else if (group.kind === "upload" || group.kind === "mix") {
        for (const cell of await uploadGroup(options, systems, group)) record.cell(cell);
      } else {
        downloads ??= await storeDownloadObjects(options, systems);
        for (const cell of await downloadGroup(options, systems, group, downloads)) {
          record.cell(cell);
        }
      }
    }
  } finally {
    await systems.stop();
    await storage.stop();
  }
}

/** Why a system sits out a group, if it does. */
function reasonToSkip(options: SuiteOptions, id: CellId): string | undefined {
  const { plan } = options;
  if (id.operation === "mix") return undefined;
  const roundBytes = id.size * roundPlan(plan, id.size, id.concurrency).maxRequests;
  if (id.system === "naive" && 2 * id.size * id.concurrency > plan.naiveMemoryBudget) {
    return `would hold about ${formatSize(2 * id.size * id.concurrency)} in memory at once on a shared machine`;
  }
  if (EXTRA_REFERENCES.includes(id.system) && roundBytes > plan.extraReferenceRoundBytes) {
    return `an informational reference, left out where a round moves ${formatSize(roundBytes)}`;
  }
  return undefined;
}

/** A start failure in one line: its first line and the error its log ends with. */
function condense(err: unknown): string {
  const lines = String((err as Error).message ?? err)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const cause = lines.slice(1).find((l) => /\w*Error\b/.test(l));
  return cause ? `${lines[0]} (${cause})` : (lines[0] ?? "failed");
}

/** Runs a group's contenders side by side; cells come back in the catalog's order. */
async function runContenders(
  options: SuiteOptions,
  systems: BackendSystems,
  kinds: SystemKind[],
  idFor: (system: SystemKind) => CellId,
  build: (system: SystemKind, id: CellId) => Promise<Contender>,
): Promise<CellResult[]> {
  const out = new Map<SystemKind, CellResult>();
  const contenders: Contender[] = [];
  for (const system of kinds.filter((k) => systems.wanted(k))) {
    const id = idFor(system);
    const skip = reasonToSkip(options, id);
    if (skip) {
      out.set(system, skippedCell(id, skip));
      continue;
    }
    try {
      contenders.push(await build(system, id));
    } catch (err) {
      out.set(system, { ...skippedCell(id, ""), status: "failed", note: condense(err) });
    }
  }
  const measured = await measureGroup(contenders, {
    rounds: options.plan.rounds,
    pin: options.pin,
    storagePid: systems.storage.pid,
  });
  for (const cell of measured) out.set(cell.system, cell);
  return kinds.flatMap((k) => out.get(k) ?? []);
}

function uploadGroup(
  options: SuiteOptions,
  systems: BackendSystems,
  group: GroupSpec,
): Promise<CellResult[]> {
  const mix = group.kind === "mix";
  const sizes = mix ? mixSizes(options.plan.mix.uploads, options.plan.mix.seed) : undefined;
  const kinds = CATALOG[mix ? "mix" : "upload"][systems.backend];
  return runContenders(
    options,
    systems,
    kinds,
    (system) => ({
      system,
      backend: systems.backend,
      operation: mix ? "mix" : "upload",
      size: group.size ?? 0,
      concurrency: group.concurrency ?? 1,
    }),
    async (system, id) => uploadContender(options, await systems.get(system), id, sizes),
  );
}

/**
 * The objects the download groups read: one per size stored through the gateway, and on
 * the cloud backends the same bytes put straight into the bucket for the SDK's GETs.
 */
async function storeDownloadObjects(
  options: SuiteOptions,
  systems: BackendSystems,
): Promise<Map<number, { url: string; key: string }>> {
  const objects = new Map<number, { url: string; key: string }>();
  const gateway = systems.wanted("gateway") ? await systems.get("gateway") : undefined;
  const cloud = systems.backend !== "fs" && systems.wanted("direct");
  const runner = cloud ? (await systems.get("direct")).runner : undefined;
  const agent = keepAliveAgent();
  try {
    for (const size of options.plan.sizes) {
      const key = `direct/download-${size}.bin`;
      const url = gateway?.uploadUrl
        ? (await uploadOnce(agent, gateway.uploadUrl, mesiboForm(size, size), size)).url
        : "";
      if (runner) await request(runner.process, { type: "put", key, size });
      objects.set(size, { url, key });
    }
  } finally {
    agent.destroy();
  }
  return objects;
}

function downloadGroup(
  options: SuiteOptions,
  systems: BackendSystems,
  group: GroupSpec,
  objects: Map<number, { url: string; key: string }>,
): Promise<CellResult[]> {
  const size = group.size ?? 0;
  const object = objects.get(size);
  return runContenders(
    options,
    systems,
    CATALOG.download[systems.backend],
    (system) => ({
      system,
      backend: systems.backend,
      operation: group.kind === "range" ? "range" : "download",
      size,
      concurrency: group.concurrency ?? 1,
    }),
    async (system, id) => {
      const running = await systems.get(system);
      if (system === "direct")
        return directDownloadContender(options, id, running, object?.key ?? "");
      const url = system === "pipe" ? running.pipeUrl?.(size) : object?.url;
      if (!url) throw new Error("no object to read: the gateway did not store one");
      return httpDownloadContender(options, id, running.pid, url);
    },
  );
}

/** Writes the raw results next to the logs, for later comparison between runs. */
export async function saveRaw(path: string, data: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(data, null, 2));
}
