import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "vitest";
import { EncryptionError, type EncryptionErrorCode } from "../src/index.ts";

/** Splits `data` at the given cut points (sorted, deduplicated, inside the buffer). */
export function chunksAt(data: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => Math.min(Math.max(cut, 0), data.length)))].sort(
    (a, b) => a - b,
  );
  const chunks: Buffer[] = [];
  let previous = 0;
  for (const point of [...points, data.length]) {
    chunks.push(data.subarray(previous, point));
    previous = point;
  }
  return chunks.filter((chunk, i) => chunk.length > 0 || i === 0);
}

/** Random chunk sizes from 1 to `max` bytes. */
export function randomChunks(data: Buffer, max = 4096): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length;) {
    const size = 1 + Math.floor(Math.random() * max);
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Writes the chunks through `stage` and collects what comes out. */
export async function run(stage: Transform, chunks: readonly Buffer[] | Buffer): Promise<Buffer> {
  const input = Buffer.isBuffer(chunks) ? [chunks] : chunks;
  const output: Buffer[] = [];
  await pipeline(
    Readable.from(input.map((chunk) => Buffer.from(chunk))),
    stage,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        output.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(output);
}

/** Like run(), but expects failure; returns the error and what reached the consumer before it. */
export async function runFailing(
  stage: Transform,
  chunks: readonly Buffer[] | Buffer,
): Promise<{ error: EncryptionError; emitted: Buffer }> {
  const input = Buffer.isBuffer(chunks) ? [chunks] : chunks;
  const output: Buffer[] = [];
  const error = await pipeline(
    Readable.from(input.map((chunk) => Buffer.from(chunk))),
    stage,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        output.push(chunk);
        done();
      },
    }),
  ).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, "the stream should have failed").toBeInstanceOf(EncryptionError);
  return { error: error as EncryptionError, emitted: Buffer.concat(output) };
}

export async function expectCode(
  stage: Transform,
  chunks: readonly Buffer[] | Buffer,
  code: EncryptionErrorCode,
): Promise<Buffer> {
  const { error, emitted } = await runFailing(stage, chunks);
  expect(error.code, error.message).toBe(code);
  return emitted;
}

/** XORs `mask` into byte `index` of `data`, in place. */
export function flip(data: Buffer, index: number, mask = 1): Buffer {
  data.writeUInt8(data.readUInt8(index) ^ mask, index);
  return data;
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function randomPlaintext(size: number): Buffer {
  return randomBytes(size);
}
