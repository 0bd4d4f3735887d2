import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/** Passes bytes through unchanged while counting them and hashing them with SHA-256. */
export class ByteMeter extends Transform {
  bytes = 0;
  readonly #hash: Hash = createHash("sha256");

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  /** Hex digest of everything that passed; call once, after the stream has ended. */
  digest(): string {
    return this.#hash.digest("hex");
  }
}
