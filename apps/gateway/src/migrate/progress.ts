import cliProgress from "cli-progress";

const MiB = 1024 * 1024;
/** Without a terminal (a job's log), one line this often instead of a bar. */
const LINE_EVERY_MS = 10_000;

/** "6.1 MiB", "512 B": binary units, as the sizes in the configuration. */
export function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** "0.42s", "12.3s", "4m05s", "2h10m": precise where a short run needs it. */
export function humanDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export interface Progress {
  bytes(n: number): void;
  object(): void;
  stop(): void;
}

/**
 * The run's progress on stderr: a bar with objects, bytes, rate and ETA on a terminal; a
 * plain line every ten seconds otherwise. The ETA follows bytes, not objects, since one
 * large file takes as long as thousands of small ones.
 */
export function startProgress(
  total: { objects: number; bytes: number },
  stream: NodeJS.WriteStream,
): Progress {
  const started = performance.now();
  let objects = 0;
  let bytes = 0;
  // Encrypted objects are a little larger than the plaintext sizes the ledger records.
  let totalBytes = Math.max(total.bytes, 1);
  const rate = () => bytes / Math.max((performance.now() - started) / 1000, 0.001);
  const payload = () => ({
    objects,
    totalObjects: total.objects,
    copied: humanBytes(bytes),
    size: humanBytes(totalBytes),
    rate: `${(rate() / MiB).toFixed(1)} MiB/s`,
  });
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format:
          "migrate [{bar}] {objects}/{totalObjects} objects | {copied}/{size} | {rate} | ETA {eta_formatted}",
        stream,
        fps: 5,
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalBytes, 0, payload());
    return {
      bytes(n) {
        bytes += n;
        if (bytes > totalBytes) bar.setTotal((totalBytes = bytes));
        bar.update(bytes, payload());
      },
      object() {
        objects++;
        bar.update(bytes, payload());
      },
      stop: () => bar.stop(),
    };
  }
  const line = () => {
    const p = payload();
    const left = Math.max(totalBytes - bytes, 0) / Math.max(rate(), 1);
    stream.write(
      `migrate: ${p.objects}/${p.totalObjects} objects, ${p.copied} of ${p.size}, ${p.rate}, about ${humanDuration(left * 1000)} left\n`,
    );
  };
  const timer = setInterval(line, LINE_EVERY_MS);
  timer.unref();
  return {
    bytes(n) {
      bytes += n;
      totalBytes = Math.max(totalBytes, bytes);
    },
    object() {
      objects++;
    },
    stop: () => clearInterval(timer),
  };
}
