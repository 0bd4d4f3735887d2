import type { BackendName } from "./backend.ts";
import { largeSize } from "./plan.ts";
import { explainGap, ratioCheck, type TargetCheck } from "./ratio-check.ts";
import {
  findCell,
  type BenchResults,
  type CellResult,
  type Operation,
  type SystemKind,
} from "./results.ts";
import { fmt, formatSize, KiB, MiB } from "./units.ts";

export type { TargetCheck } from "./ratio-check.ts";

/** The issues' targets (13 part 6 and before). Changing a number here needs the issue changed first. */
export const TARGETS = {
  peakRssBytes: 150 * MiB,
  smallSize: 16 * KiB,
  /** 16 KiB on fs, FS_DURABLE=false: against Express + multer diskStorage and bare busboy. */
  smallVsMulterDisk: 0.7,
  smallVsBusboy: 0.6,
  /** 16 KiB on fs, durable: against the fsynced busboy. */
  smallDurableVsFsyncedBusboy: 0.6,
  /** The gateway's CPU per 16 KiB upload, at most this many times the reference's. */
  smallCpuVsReference: 1.6,
  mediumSize: MiB,
  mediumVsBusboyOnFs: 0.9,
  largeVsBusboyOnFs: 0.85,
  /** 16 KiB on s3: against Express + multer-s3 into the same server. */
  smallVsMulterS3: 0.8,
  /** Cloud uploads and downloads from this size up: against the direct SDK. */
  cloudJudgedFrom: MiB,
  uploadVsDirect: 0.8,
  downloadVsDirect: 0.8,
  /** fs downloads of the large size: against the read-stream pipe. */
  downloadVsPipe: 0.8,
} as const;

export function evaluateTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const { cells, concurrencies } = results;
  const large = largeSize(results);
  const cell = (
    system: SystemKind,
    backend: BackendName,
    operation: Operation,
    size: number,
    concurrency: number,
  ) => findCell(cells, { system, backend, operation, size, concurrency });
  /**
   * A check is listed when the run set out to measure all its cells (they were measured,
   * failed or skipped); a run filtered by --cells or --systems lists only what it can judge.
   */
  const add = (check: TargetCheck, ...involved: (CellResult | undefined)[]) => {
    if (involved.every((c) => c !== undefined)) checks.push(check);
  };
  const upload = (system: SystemKind, backend: BackendName, size: number, concurrency: number) =>
    cell(system, backend, "upload", size, concurrency);

  for (const probe of results.probes) {
    const sizeNote =
      probe.size === 512 * MiB
        ? ""
        : ` (the target is set for 512 MiB; this run streams ${formatSize(probe.size)})`;
    const name = `peak gateway RSS while a ${formatSize(probe.size)} file streams, ${probe.backend}${sizeNote}`;
    const limit = `< ${TARGETS.peakRssBytes / MiB} MiB`;
    checks.push(
      probe.status === "ok" && probe.peakRssBytes !== undefined
        ? {
            name,
            status: probe.peakRssBytes < TARGETS.peakRssBytes ? "PASS" : "FAIL",
            figure: `${fmt(probe.peakRssBytes / MiB)} MiB (${limit}; ${fmt((probe.idleRssBytes ?? 0) / MiB)} MiB before the upload)`,
          }
        : { name, status: "N/A", figure: limit, note: probe.note ?? "not measured" },
    );
  }

  const small = TARGETS.smallSize;
  for (const c of concurrencies) {
    // fs, 16 KiB. Like for like: the references fsync nothing, nor does the gateway with
    // FS_DURABLE=false; the default, durable gateway meets the fsynced busboy.
    const unsynced = upload("unsyncedGateway", "fs", small, c);
    const durable = upload("gateway", "fs", small, c);
    const multerDisk = upload("multerDisk", "fs", small, c);
    const busboy = upload("busboy", "fs", small, c);
    const fsynced = upload("durableBusboy", "fs", small, c);
    const what = `16 KiB uploads on fs ×${c}`;
    add(
      ratioCheck(
        `${what}, FS_DURABLE=false ÷ Express + multer diskStorage`,
        unsynced,
        multerDisk,
        "requestsPerSec",
        { atLeast: TARGETS.smallVsMulterDisk },
      ),
      unsynced,
      multerDisk,
    );
    const vsBusboy = ratioCheck(
      `${what}, FS_DURABLE=false ÷ bare busboy`,
      unsynced,
      busboy,
      "requestsPerSec",
      { atLeast: TARGETS.smallVsBusboy },
    );
    explainGap(vsBusboy, unsynced, busboy, upload("adapterBusboy", "fs", small, c));
    add(vsBusboy, unsynced, busboy);
    const vsFsynced = ratioCheck(
      `${what}, durable ÷ fsynced busboy`,
      durable,
      fsynced,
      "requestsPerSec",
      { atLeast: TARGETS.smallDurableVsFsyncedBusboy },
    );
    explainGap(vsFsynced, durable, fsynced, upload("durableAdapterBusboy", "fs", small, c));
    add(vsFsynced, durable, fsynced);
    add(
      ratioCheck(
        `${what}, gateway CPU per upload (FS_DURABLE=false) ÷ multer diskStorage's`,
        unsynced,
        multerDisk,
        "cpuMsPerRequest",
        { atMost: TARGETS.smallCpuVsReference },
      ),
      unsynced,
      multerDisk,
    );

    // s3, 16 KiB: against multer-s3 into the same server.
    const s3 = upload("gateway", "s3", small, c);
    const multerS3 = upload("multerS3", "s3", small, c);
    add(
      ratioCheck(
        `16 KiB uploads on s3 ×${c}, gateway ÷ Express + multer-s3`,
        s3,
        multerS3,
        "requestsPerSec",
        { atLeast: TARGETS.smallVsMulterS3 },
      ),
      s3,
      multerS3,
    );
    add(
      ratioCheck(
        `16 KiB uploads on s3 ×${c}, gateway CPU per upload ÷ multer-s3's`,
        s3,
        multerS3,
        "cpuMsPerRequest",
        { atMost: TARGETS.smallCpuVsReference },
      ),
      s3,
      multerS3,
    );

    // fs, 1 MiB and the large size, against bare busboy.
    const medium = TARGETS.mediumSize;
    const mu = upload("unsyncedGateway", "fs", medium, c);
    const mb = upload("busboy", "fs", medium, c);
    add(
      ratioCheck(`1 MiB uploads on fs ×${c}, FS_DURABLE=false ÷ bare busboy`, mu, mb, "mibPerSec", {
        atLeast: TARGETS.mediumVsBusboyOnFs,
      }),
      mu,
      mb,
    );
    for (const [gw, ref, words] of [
      ["unsyncedGateway", "busboy", "FS_DURABLE=false ÷ bare busboy"],
      ["gateway", "durableBusboy", "durable ÷ fsynced busboy"],
    ] as const) {
      const g = upload(gw, "fs", large, c);
      const r = upload(ref, "fs", large, c);
      add(
        ratioCheck(`${formatSize(large)} uploads on fs ×${c}, ${words}`, g, r, "mibPerSec", {
          atLeast: TARGETS.largeVsBusboyOnFs,
        }),
        g,
        r,
      );
    }
  }

  // Cloud backends: every size from 1 MiB up, against the SDK on the same server.
  for (const backend of results.backends.filter((b) => b !== "fs")) {
    for (const size of results.sizes.filter((s) => s >= TARGETS.cloudJudgedFrom)) {
      for (const c of concurrencies) {
        const g = upload("gateway", backend, size, c);
        const d = upload("direct", backend, size, c);
        add(
          ratioCheck(
            `${formatSize(size)} uploads on ${backend} ×${c}, gateway ÷ direct SDK`,
            g,
            d,
            "mibPerSec",
            { atLeast: TARGETS.uploadVsDirect },
          ),
          g,
          d,
        );
        for (const operation of ["download", "range"] as const) {
          const gd = cell("gateway", backend, operation, size, c);
          const dd = cell("direct", backend, operation, size, c);
          const what = operation === "range" ? "ranged GETs" : "full GETs";
          add(
            ratioCheck(
              `${formatSize(size)} ${what} on ${backend} ×${c}, gateway ÷ direct SDK GET`,
              gd,
              dd,
              "mibPerSec",
              { atLeast: TARGETS.downloadVsDirect },
            ),
            gd,
            dd,
          );
        }
      }
    }
  }

  // fs downloads of the large size against the plain read-stream pipe.
  for (const c of concurrencies) {
    for (const operation of ["download", "range"] as const) {
      const g = cell("gateway", "fs", operation, large, c);
      const p = cell("pipe", "fs", operation, large, c);
      const what = operation === "range" ? "ranged GETs" : "full GETs";
      add(
        ratioCheck(
          `${formatSize(large)} ${what} on fs ×${c}, gateway ÷ read-stream pipe`,
          g,
          p,
          "mibPerSec",
          { atLeast: TARGETS.downloadVsPipe },
        ),
        g,
        p,
      );
    }
  }
  return checks;
}
