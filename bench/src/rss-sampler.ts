import { readFileSync, writeFileSync } from "node:fs";

/** Peak memory of another process over one measured interval. */
export interface RssPeak {
  /** The kernel's high-water mark (VmHWM) since the interval began; exact, not sampled. */
  hwmBytes: number | undefined;
  /** Largest VmRSS seen by sampling; a floor for the true peak. */
  sampledBytes: number;
  samples: number;
  /** The figure reported: the kernel's mark when it could be reset, the sampled one otherwise. */
  peakBytes: number;
}

function readStatusKiB(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined; // the process is gone
  }
}

/**
 * Samples a child process's resident set from outside it (/proc/<pid>/status), so the
 * figure includes everything the process holds — heap, buffers, native memory — and the
 * sampler itself adds nothing to it. At the start of each interval the kernel's peak
 * counter is reset (writing 5 to /proc/<pid>/clear_refs), so VmHWM then gives the exact
 * peak of that interval, including spikes between samples.
 */
export class RssSampler {
  readonly pid: number;
  readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private sampled = 0;
  private samples = 0;
  private hwmReset = false;

  constructor(pid: number, intervalMs = 20) {
    this.pid = pid;
    this.intervalMs = intervalMs;
  }

  /** Current resident set in bytes, or undefined once the process is gone. */
  currentBytes(): number | undefined {
    const kib = readStatusKiB(this.pid, "VmRSS");
    return kib === undefined ? undefined : kib * 1024;
  }

  /**
   * Resets the kernel's peak counter (writing 5 to /proc/<pid>/clear_refs), so VmHWM from
   * now on is the exact peak of what follows, spikes between samples included. False where
   * the kernel refuses (older kernels, a foreign process).
   */
  resetPeak(): boolean {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, "5");
      return true;
    } catch {
      return false;
    }
  }

  /** VmHWM in bytes: the peak since the last reset. */
  readPeak(): number | undefined {
    const kib = readStatusKiB(this.pid, "VmHWM");
    return kib === undefined ? undefined : kib * 1024;
  }

  start(options: { resetPeak: boolean } = { resetPeak: true }): void {
    this.stopTimer();
    this.sampled = 0;
    this.samples = 0;
    this.hwmReset = options.resetPeak && this.resetPeak();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): RssPeak {
    this.sample();
    this.stopTimer();
    const hwmBytes = this.hwmReset ? this.readPeak() : undefined;
    return {
      hwmBytes,
      sampledBytes: this.sampled,
      samples: this.samples,
      peakBytes: Math.max(hwmBytes ?? 0, this.sampled),
    };
  }

  private sample(): void {
    const bytes = this.currentBytes();
    if (bytes === undefined) return;
    this.samples++;
    if (bytes > this.sampled) this.sampled = bytes;
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
