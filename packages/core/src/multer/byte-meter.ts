import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/** Passes bytes through unchanged while counting them and hashing them with SHA-256. */
export class ByteMeter extends Transform {
  bytes = 0;
  readonly #hash: Hash = createHash("sha256");
  #digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  /**
   * Hex digest of everything that passed; call after the stream has ended. Later calls return
   * the same digest (a hash can only be finished once).
   */
  digest(): string {
    this.#digest ??= this.#hash.digest("hex");
    return this.#digest;
  }
}
