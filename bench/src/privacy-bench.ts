/**
 * `npm run bench:privacy`: what the two custody features of issue 16 cost in the gateway, on
 * the fs backend. Encryption at rest: ENCRYPTION=off against on, for one large upload (MiB/s,
 * gateway CPU s/GiB, peak RSS), its full GET and ranged GETs from the middle. Metadata
 * stripping: STRIP_METADATA=off against on, for a phone-like JPEG and MP4 carrying a location,
 * uploaded N times each (uploads/s, gateway CPU ms per upload).
 *
 * A standalone script rather than a group of the main benchmark: its pairs are the same
 * gateway with one variable changed, not systems to rank, and the stripping half needs real
 * media. Like the main benchmark it runs the compiled gateway (`npm start`'s command) and
 * alternates the two configurations round by round, reporting medians with their range.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killAllChildren } from "./child-process.ts";
import { ForeignLoad } from "./foreign-load.ts";
import { gatewayExists } from "./gateway.ts";
import { logTail, type BenchGateway } from "./privacy/gateways.ts";
import type { LargeFigures } from "./privacy/measure.ts";
import { makeMedia, type MediaFile } from "./privacy/media.ts";
import {
  encryptionPhase,
  stripPhase,
  type EncryptionResult,
  type PhaseContext,
  type StripResult,
} from "./privacy/phases.ts";
import { column, renderTable, type Row } from "./privacy/report.ts";
import { stripStageCost, type StageFigures } from "./privacy/strip-stage.ts";

/** The stage alone costs a fraction of a millisecond per file, so more rounds are cheap. */
const STAGE_ROUNDS = 9;
import { median } from "./stats.ts";
import { fmt, formatSize, MiB, parseSize } from "./units.ts";

const USAGE = `Usage: npm run bench:privacy -w @mediagate/bench -- [options]

  --rounds N    alternating rounds per comparison, at least 3 (default 3)
  --size SIZE   the large upload of the encryption comparison (default 512m; --quick 16m)
  --photos N    uploads of each photo and of the video, per configuration and round
                (default 40; --quick 3)
  --durable     FS_DURABLE=true (default false: the fsyncs' disk time is not what is measured)
  --quick       tiny sizes, for a smoke run of well under a minute

Needs the compiled gateway: npx turbo run build --filter=@mediagate/gateway...
and ImageMagick (convert), ffmpeg and exiftool to make the test media.`;

interface Options {
  rounds: number;
  size: number;
  photos: number;
  ranges: number;
  durable: boolean;
  quick: boolean;
}

function wholeNumber(text: string, name: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be a whole number of at least ${min}, not "${text}"`);
  }
  return value;
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "3" },
      size: { type: "string" },
      photos: { type: "string" },
      durable: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const quick = values.quick;
  const size = parseSize(values.size ?? (quick ? "16m" : "512m"));
  if (size < 2 * MiB) throw new Error("--size must be at least 2m (a 1 MiB range from the middle)");
  return {
    rounds: wholeNumber(values.rounds, "--rounds", 3),
    size,
    photos: wholeNumber(values.photos ?? (quick ? "3" : "40"), "--photos", 1),
    // Ranged GETs per round: their median is the round's latency.
    ranges: quick ? 5 : 20,
    durable: values.durable,
    quick,
  };
}

function encryptionTable(options: Options, result: EncryptionResult): string {
  const size = formatSize(options.size);
  const measures: [keyof LargeFigures, string][] = [
    ["uploadMiBps", `upload ${size}: MiB/s`],
    ["uploadCpuSPerGiB", "upload: gateway CPU s/GiB"],
    ["uploadPeakRssMiB", "upload: peak gateway RSS, MiB"],
    ["getMiBps", `full GET ${size}: MiB/s`],
    ["getCpuSPerGiB", "full GET: gateway CPU s/GiB"],
    ["getPeakRssMiB", "full GET: peak gateway RSS, MiB"],
    ["rangeMs", `ranged GET, 1 MiB from the middle: median ms (${options.ranges} per round)`],
  ];
  const rows = measures.map(([key, measure]): Row => ({
    measure,
    without: column(result.without, key),
    with: column(result.with, key),
  }));
  return renderTable({ without: "ENCRYPTION=off", with: "ENCRYPTION=on", ratio: "on ÷ off" }, rows);
}

function stageTable(
  media: readonly MediaFile[],
  stages: readonly StageFigures[],
  strip: StripResult,
): string {
  const lines = [
    "| file | PassThrough | stripping stage | added per file | ÷ gateway CPU per upload |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const [i, file] of media.entries()) {
    const stage = stages[i];
    const gateway = median(column(strip.files[i]?.without ?? [], "cpuMsPerUpload"));
    if (!stage) continue;
    const a = median(stage.without) ?? 0;
    const b = median(stage.with) ?? 0;
    // Each round's own difference, then their median: a slow moment hits a round's pair alike.
    const added = median(stage.with.map((w, round) => w - (stage.without[round] ?? w))) ?? 0;
    const share = gateway ? `${fmt((100 * added) / gateway)} %` : "–";
    lines.push(
      `| ${file.label} | ${fmt(a, 3)} ms | ${fmt(b, 3)} ms | ${fmt(added, 3)} ms | ${share} |`,
    );
  }
  return lines.join("\n");
}

function stripTable(media: readonly MediaFile[], result: StripResult): string {
  const rows: Row[] = [];
  for (const [i, file] of media.entries()) {
    const paired = result.files[i];
    if (!paired) continue;
    const kind = file.type === "video/mp4" ? "MP4" : "JPEG";
    const size =
      file.bytes.length < MiB
        ? `${fmt(file.bytes.length / 1024)} KiB`
        : `${fmt(file.bytes.length / MiB)} MiB`;
    const what = `${file.label} (${kind}, ${size})`;
    rows.push(
      {
        measure: `${what}: uploads/s`,
        without: column(paired.without, "uploadsPerSec"),
        with: column(paired.with, "uploadsPerSec"),
      },
      {
        measure: `${what}: gateway CPU ms/upload`,
        without: column(paired.without, "cpuMsPerUpload"),
        with: column(paired.with, "cpuMsPerUpload"),
      },
    );
  }
  return renderTable(
    { without: "STRIP_METADATA=off", with: "STRIP_METADATA=on", ratio: "on ÷ off" },
    rows,
  );
}

async function main(): Promise<number> {
  const options = parseOptions();
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  if (!(await gatewayExists())) {
    throw new Error(
      "the compiled gateway (apps/gateway/dist) is missing: npx turbo run build --filter=@mediagate/gateway...",
    );
  }
  const workDir = await mkdtemp(join(tmpdir(), "mediagate-bench-privacy-"));
  const abort = (signal: NodeJS.Signals) => {
    killAllChildren();
    rm(workDir, { recursive: true, force: true }).finally(() =>
      process.exit(signal === "SIGINT" ? 130 : 143),
    );
  };
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  process.once("exit", killAllChildren);

  const started: BenchGateway[] = [];
  const startedAt = performance.now();
  const log = (message: string) => process.stderr.write(`${message}\n`);
  let mid = 0;
  const ctx: PhaseContext = {
    setup: { workDir, durable: options.durable, maxFileSize: options.size },
    rounds: options.rounds,
    started,
    log,
    nextIndex: (count = 1) => (mid += count) - count,
  };
  try {
    log("making the photos and the video (ImageMagick, ffmpeg, exiftool)…");
    const mediaDir = join(workDir, "media");
    await mkdir(mediaDir, { recursive: true });
    const media = await makeMedia(mediaDir, options.quick);
    const foreign = new ForeignLoad();
    const encryption = await encryptionPhase(ctx, options.size, options.ranges);
    const strip = await stripPhase(ctx, media, options.photos, mediaDir);
    log("the stripping stage alone, in process…");
    const stages: StageFigures[] = [];
    for (const file of media)
      stages.push(
        await stripStageCost(file, options.photos, Math.max(options.rounds, STAGE_ROUNDS)),
      );
    const otherWork = foreign.cores();
    const seconds = (performance.now() - startedAt) / 1000;

    console.log(
      `Gateway on fs (FS_DURABLE=${options.durable}, SQLite ledger on), ${options.rounds} ` +
        "alternating rounds, one connection, requests one after another. " +
        "Median (range) of the rounds.\n",
    );
    console.log(`### Encryption at rest\n\n${encryptionTable(options, encryption)}\n`);
    console.log(
      `### Metadata stripping (${options.photos} uploads per file and round)\n\n` +
        `${stripTable(media, strip)}\n`,
    );
    console.log(
      `The stripping stage alone (in this process, 64 KiB chunks, CPU ms per file, medians of ${Math.max(options.rounds, STAGE_ROUNDS)} alternating rounds; "added" is the median of each round's difference; a ` +
        "PassThrough in its place for comparison), and what it adds to the gateway's CPU per " +
        "upload without stripping (the table above):\n\n" +
        `${stageTable(media, stages, strip)}\n`,
    );
    console.log("Checked before measuring (untimed):\n");
    for (const check of [...encryption.checks, ...strip.checks]) console.log(`- ${check}`);
    console.log(
      `\nOther work on the machine used ${fmt(otherWork, 2)} cores on average while measuring; ` +
        `the run took ${fmt(seconds)} s.`,
    );
    return 0;
  } catch (err) {
    for (const gateway of started) {
      log(`--- ${gateway.label}: end of ${gateway.logFile} ---\n${await logTail(gateway)}`);
    }
    throw err;
  } finally {
    for (const gateway of started) await gateway.running.child.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killAllChildren();
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
