import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StripReport, StripStream } from "../../src/index.ts";

/** Runs a real tool; rejects with its stderr when it exits non-zero. */
export function run(cmd: string, args: string[]): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const text = stderr.toString("utf8");
        if (err)
          reject(
            new Error(`${cmd} ${args.join(" ")} failed: ${text || err.message}`, { cause: err }),
          );
        else resolve({ stdout, stderr: text });
      },
    );
  });
}

export interface TempDir {
  dir: string;
  path(name: string): string;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), "mediagate-strip-"));
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** mulberry32: a small seeded PRNG so a failing chunking can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits data into chunks of random sizes: single bytes, small pieces and large runs mixed. */
export function randomChunks(data: Buffer, seed: number): Buffer[] {
  const rand = prng(seed);
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const kind = rand();
    const max = kind < 0.3 ? 4 : kind < 0.7 ? 300 : 70_000;
    const size = 1 + Math.floor(rand() * max);
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

export interface Stripped {
  out: Buffer;
  report: StripReport;
}

/** Streams the chunks through the stage and collects what comes out. */
export async function streamThrough(stage: StripStream, chunks: Buffer[]): Promise<Stripped> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  await pipeline(Readable.from(chunks, { objectMode: false }), stage, sink);
  return { out: Buffer.concat(out), report: stage.report };
}

export function stripChunked(stage: StripStream, data: Buffer, seed: number): Promise<Stripped> {
  return streamThrough(stage, randomChunks(data, seed));
}

/** Strips a file on disk into another, in random chunks. */
export async function stripFile(
  stage: StripStream,
  from: string,
  to: string,
  seed: number,
): Promise<Stripped> {
  const result = await stripChunked(stage, await readFile(from), seed);
  await writeFile(to, result.out);
  return result;
}

export type Tags = Record<string, unknown>;

/** exiftool's view of each file (all groups, numeric values, unknown tags included), in order. */
export async function exif<const F extends string[]>(
  ...files: F
): Promise<{ [K in keyof F]: Tags }> {
  const { stdout } = await run("exiftool", ["-json", "-a", "-G1", "-n", "-u", ...files]);
  const all = JSON.parse(stdout.toString("utf8")) as Tags[];
  if (all.length !== files.length)
    throw new Error(`exiftool described ${all.length} of ${files.length} files`);
  return all as { [K in keyof F]: Tags };
}

/** Tag names that reveal where or with what a file was made. */
const SENSITIVE =
  /gps|serial|maker ?note|^apple:|location|city|sub-?location|:make$|:model$|:software$|comment|owner|lensmodel|xmp-exif/i;

export function sensitiveTags(tags: Tags): string[] {
  return Object.keys(tags).filter((k) => SENSITIVE.test(k) && !k.startsWith("System:"));
}

/** Decodes the whole image (ImageMagick) and fails on any warning. */
export async function imageDecodes(file: string): Promise<void> {
  await run("convert", ["-regard-warnings", file, "null:"]);
}

/** Decodes every frame of a video; ffmpeg prints nothing at `-v error` when all is well. */
export async function videoDecodes(file: string): Promise<string> {
  const { stderr } = await run("ffmpeg", ["-v", "error", "-i", file, "-f", "null", "-"]);
  return stderr;
}

/** ffprobe reads the container and its streams; rejects (with ffprobe's stderr) if it fails. */
export async function videoProbes(file: string): Promise<string> {
  const { stderr } = await run("ffprobe", ["-v", "error", "-show_streams", file]);
  return stderr;
}

/** The container-level tags ffprobe reads (ffmpeg's names: `location`, `make`, `encoder`…). */
export async function formatTags(file: string): Promise<Record<string, string>> {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-of",
    "json",
    "-show_entries",
    "format_tags",
    file,
  ]);
  const parsed = JSON.parse(stdout.toString("utf8")) as {
    format?: { tags?: Record<string, string> };
  };
  return parsed.format?.tags ?? {};
}
