import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** The parts of a V8 .cpuprofile this summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a sample's time went: a package, a workspace folder, Node's internals, or native. */
function owner(url: string): string {
  if (!url) return "(native / GC)";
  if (url.startsWith("node:")) return "node internals";
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1] ?? url;
  const workspace = /\/((?:apps|packages|bench)\/[^/]+)\//.exec(url);
  return workspace?.[1] ?? url;
}

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;

/**
 * Self time of one CPU profile by owner and by function: enough to see whether a slow cell
 * is waiting (idle), hashing, parsing or logging, without opening DevTools.
 */
export function summarizeProfile(profile: CpuProfile, top = 15): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    // Idle samples are time the gateway waited (for I/O, or while other systems were
    // measured in their turn): shares are of the busy time.
    if (frame.functionName === "(idle)") {
      idle += dt;
      return;
    }
    total += dt;
    const who = owner(frame.url);
    byOwner.set(who, (byOwner.get(who) ?? 0) + dt);
    const fn = `${frame.functionName || "(anonymous)"} — ${who}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
  });
  const list = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, t]) =>
          `  ${percent(t, total).padStart(6)}  ${(t / 1000).toFixed(0).padStart(7)} ms  ${name}`,
      );
  return [
    `sampled ${((total + idle) / 1e6).toFixed(1)} s, busy ${(total / 1e6).toFixed(1)} s (shares below are of the busy time)`,
    "by owner:",
    ...list(byOwner),
    "by function (self time):",
    ...list(byFunction),
  ].join("\n");
}

/** Summaries of every .cpuprofile in `dir`, one section per file. */
export async function summarizeProfiles(dir: string): Promise<string> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith(".cpuprofile"));
  const sections: string[] = [];
  for (const file of files.sort()) {
    const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as CpuProfile;
    sections.push(`== ${file}\n${summarizeProfile(profile)}`);
  }
  return sections.join("\n\n");
}
