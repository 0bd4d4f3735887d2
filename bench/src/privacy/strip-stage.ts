/**
 * The stripping stage alone, in this process: CPU per file through `createStripStream()`
 * against a PassThrough, in alternating rounds. Through the gateway, one upload's CPU is
 * read from /proc in 10 ms ticks and varies by more than the stage costs; here the stage's
 * own cost is measured to the microsecond, and set beside the gateway's CPU per upload.
 */
import { PassThrough, Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createStripStream } from "@mediagate/strip";
import type { MediaFile } from "./media.ts";

/** The size of the chunks a request body arrives in. */
const CHUNK = 64 * 1024;

async function pass(bytes: Buffer, stage: Transform): Promise<void> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK));
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  await pipeline(Readable.from(chunks), stage, sink);
}

const cpuMs = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

async function msPerFile(file: MediaFile, count: number, strip: boolean): Promise<number> {
  const started = cpuMs();
  for (let i = 0; i < count; i++) {
    await pass(file.bytes, strip ? createStripStream() : new PassThrough());
  }
  return (cpuMs() - started) / count;
}

export interface StageFigures {
  /** Per round: CPU ms per file through a PassThrough, and through the stripping stage. */
  without: number[];
  with: number[];
}

/** `rounds` alternating rounds of `count` files each, after a warm-up of both. */
export async function stripStageCost(
  file: MediaFile,
  count: number,
  rounds: number,
): Promise<StageFigures> {
  await msPerFile(file, Math.min(count, 20), false);
  await msPerFile(file, Math.min(count, 20), true);
  const figures: StageFigures = { without: [], with: [] };
  for (let round = 0; round < rounds; round++) {
    figures.without.push(await msPerFile(file, count, false));
    figures.with.push(await msPerFile(file, count, true));
  }
  return figures;
}
