import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc times (USER_HZ, 100 on Linux everywhere in practice). */
const TICKS = 100;

/** Busy CPU time of the whole machine, in seconds. */
function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1);
  if (!fields) return 0;
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS
  );
}

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime: the process and every child it has reaped. */
  seconds: number;
}

function readProc(pid: string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces and parentheses; fields resume after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const n = (i: number) => Number(fields[i] ?? 0);
    return { ppid: n(1), seconds: (n(11) + n(12) + n(13) + n(14)) / TICKS };
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * CPU time of this process and all its descendants. A descendant that exited was reaped by
 * its parent, whose `cutime`/`cstime` now include it, so summing the live processes' own and
 * children's times counts every process of the tree exactly once.
 */
function treeSeconds(root: number): number {
  const procs = new Map<number, ProcStat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(name);
    if (stat) procs.set(Number(name), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of procs) {
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    total += procs.get(pid)?.seconds ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/**
 * How much CPU other work took while the benchmark ran: the machine's busy time minus the
 * benchmark's own (this process and every child it started). The 1-minute load average
 * cannot tell the two apart, since the benchmark itself keeps both cores busy.
 */
export class ForeignLoad {
  private machine = 0;
  private ours = 0;
  private wall = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.machine = machineBusySeconds();
    this.ours = treeSeconds(process.pid);
    this.wall = performance.now();
  }

  /** Average cores used by other work since the last reset. */
  cores(): number {
    const seconds = (performance.now() - this.wall) / 1000;
    if (seconds <= 0) return 0;
    const foreign = machineBusySeconds() - this.machine - (treeSeconds(process.pid) - this.ours);
    return Math.max(0, foreign / seconds);
  }
}
