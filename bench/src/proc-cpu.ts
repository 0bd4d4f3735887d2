import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc times (USER_HZ, 100 on Linux everywhere in practice). */
export const TICKS = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime: every thread of the process, live or exited. */
  own: number;
  /** cutime + cstime: children it has waited for. */
  children: number;
}

function readStat(pid: number | string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces and parentheses; fields resume after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const n = (i: number) => Number(fields[i] ?? 0);
    return { ppid: n(1), own: (n(11) + n(12)) / TICKS, children: (n(13) + n(14)) / TICKS };
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * CPU seconds a process has used, all its threads together (utime + stime of
 * /proc/<pid>/stat): libuv's pool, V8's compiler and GC threads count with the main one.
 */
export function processCpuSeconds(pid: number): number | undefined {
  return readStat(pid)?.own;
}

/** CPU seconds of this process's children that have exited and been waited for (wrk runs). */
export function reapedChildrenCpuSeconds(): number {
  return readStat("self")?.children ?? 0;
}

/**
 * CPU time of a process and all its descendants. A descendant that exited was reaped by
 * its parent, whose `cutime`/`cstime` now include it, so summing the live processes' own and
 * children's times counts every process of the tree exactly once.
 */
export function treeCpuSeconds(root: number): number {
  const procs = new Map<number, ProcStat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(name);
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
    const stat = procs.get(pid);
    total += stat ? stat.own + stat.children : 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}
