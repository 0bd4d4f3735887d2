import { createHash, randomBytes } from "node:crypto";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import {
  SecretKey,
  ciphertextSize,
  createDecryptStream,
  createEncryptStream,
} from "../src/index.ts";

const MIB = 1024 * 1024;
/** Raise for a multi-GiB run: ENCRYPTION_STRESS_MIB=4096 npx vitest run test/large.test.ts */
const SIZE = Number(process.env.ENCRYPTION_STRESS_MIB ?? 256) * MIB;

/** SIZE bytes in chunks of 1 byte to 192 KiB, cut from a random pool: generated, never stored. */
function generated(size: number): Readable {
  const pool = randomBytes(4 * MIB);
  let sent = 0;
  let step = 1;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      step = (step * 1103515245 + 12345) % 2 ** 31;
      const length = Math.min(1 + (step % (192 * 1024)), size - sent, pool.length);
      const offset = step % (pool.length - length + 1);
      this.push(pool.subarray(offset, offset + length));
      sent += length;
    },
  });
}

function tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onChunk(chunk);
      done(null, chunk);
    },
  });
}

describe("a large generated stream", () => {
  it(
    `encrypts and decrypts ${SIZE / MIB} MiB with bounded buffering and memory`,
    async () => {
      const key = SecretKey.generate();
      const options = { associatedData: "objects/large" };
      const encrypt = createEncryptStream(key, options);
      const decrypt = createDecryptStream(key, options);
      const plainHash = createHash("sha256");
      const outHash = createHash("sha256");
      let cipherBytes = 0;
      let outBytes = 0;
      let maxBuffered = 0;
      const baseline = process.memoryUsage().rss;
      let peakRss = baseline;
      let chunks = 0;

      await pipeline(
        generated(SIZE),
        tap((chunk) => plainHash.update(chunk)),
        encrypt,
        tap((chunk) => (cipherBytes += chunk.length)),
        decrypt,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            outHash.update(chunk);
            outBytes += chunk.length;
            const buffered =
              encrypt.readableLength +
              encrypt.writableLength +
              decrypt.readableLength +
              decrypt.writableLength;
            maxBuffered = Math.max(maxBuffered, buffered);
            if (++chunks % 64 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
            done();
          },
        }),
      );

      expect(outBytes).toBe(SIZE);
      expect(cipherBytes).toBe(ciphertextSize(SIZE));
      expect(outHash.digest("hex")).toBe(plainHash.digest("hex"));
      // Stream buffers stay within a few chunks and segments, whatever the total size.
      expect(maxBuffered).toBeLessThan(2 * MIB);
      console.log(
        `peak rss growth ${((peakRss - baseline) / MIB).toFixed(0)} MiB, max buffered ${(maxBuffered / 1024).toFixed(0)} KiB`,
      );
      // Buffering the whole stream would add at least SIZE.
      expect(peakRss - baseline).toBeLessThan(Math.min(SIZE * 0.6, 200 * MIB));
    },
    60_000 + (SIZE / MIB) * 100,
  );
});
