import { readFileSync } from "node:fs";
import { TICKS, treeCpuSeconds } from "./proc-cpu.ts";

/** Busy CPU time of the whole machine, in seconds. */
function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1);
  if (!fields) return 0;
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS
  );
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
    this.ours = treeCpuSeconds(process.pid);
    this.wall = performance.now();
  }

  /** Average cores used by other work since the last reset. */
  cores(): number {
    const seconds = (performance.now() - this.wall) / 1000;
    if (seconds <= 0) return 0;
    const foreign = machineBusySeconds() - this.machine - (treeCpuSeconds(process.pid) - this.ours);
    return Math.max(0, foreign / seconds);
  }
}
