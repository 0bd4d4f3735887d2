import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  kernel: string;
}

export function describeMachine(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    // Virtual machines often report a generic model through os.cpus(); cpuinfo may say more.
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match?.[1] && match[1].length > cpuModel.length) cpuModel = match[1].trim();
  } catch {
    // Not Linux.
  }
  return {
    cpuModel: cpuModel.trim(),
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    kernel: `${process.platform} ${release()}`,
  };
}

/** The 1-minute load average: how busy the machine was with other work. */
export function loadAverage1m(): number {
  return loadavg()[0] ?? 0;
}
