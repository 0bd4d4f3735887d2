import { createCipheriv, hkdfSync } from "node:crypto";
import type { StreamFormat } from "../src/index.ts";

/**
 * A second, deliberately naive reading of Tink's spec (whole buffers, no streaming), written
 * straight from the document: tests compare the streaming stages with it.
 */
export function referenceEncrypt(
  key: Buffer,
  header: Buffer,
  plaintext: Buffer,
  associatedData: Buffer,
  format: StreamFormat,
): Buffer {
  const salt = header.subarray(1, 1 + format.derivedKeySize);
  const prefix = header.subarray(1 + format.derivedKeySize);
  const derived = Buffer.from(
    hkdfSync(format.hkdfHash, key, salt, associatedData, format.derivedKeySize),
  );
  const first = format.segmentSize - header.length - 16;
  const rest = format.segmentSize - 16;
  const segments: Buffer[] = [plaintext.subarray(0, first)];
  for (let offset = first; offset < plaintext.length; offset += rest) {
    segments.push(plaintext.subarray(offset, offset + rest));
  }
  const out: Buffer[] = [header];
  segments.forEach((segment, i) => {
    const nonce = Buffer.concat([prefix, Buffer.alloc(5)]);
    nonce.writeUInt32BE(i, 7);
    nonce[11] = i === segments.length - 1 ? 1 : 0;
    const cipher = createCipheriv(
      format.derivedKeySize === 32 ? "aes-256-gcm" : "aes-128-gcm",
      derived,
      nonce,
    );
    out.push(cipher.update(segment), cipher.final(), cipher.getAuthTag());
  });
  return Buffer.concat(out);
}
