import { createHash } from "node:crypto";
import { crc32cUpdate, encodeCrc32c } from "../../src/gcs/index.ts";

/** md5Hash and crc32c of `bytes` as the JSON API reports them (base64). */
export function hashesOf(bytes: Buffer): { md5Hash: string; crc32c: string } {
  return {
    md5Hash: createHash("md5").update(bytes).digest("base64"),
    crc32c: encodeCrc32c(crc32cUpdate(0, bytes)),
  };
}

/** A `multipart/related` body as the reference describes it: metadata JSON, then media. */
export function multipartBody(
  metadata: unknown,
  media: Buffer,
  mediaType = "application/octet-stream",
) {
  const boundary = "mediagate_boundary_42";
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(metadata)}\r\n`,
    ),
    Buffer.from(`--${boundary}\r\nContent-Type: ${mediaType}\r\n\r\n`),
    media,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/related; boundary=${boundary}` };
}

/** The documented error body shape, for asserting on failures. */
export async function expectErrorBody(
  response: Response,
  status: number,
  reason?: string,
): Promise<void> {
  const { expect } = await import("vitest");
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as {
    error: {
      code: number;
      message: string;
      errors: { reason: string; domain: string; message: string }[];
    };
  };
  expect(body.error.code).toBe(status);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.errors[0]?.domain).toBe("global");
  if (reason) expect(body.error.errors[0]?.reason).toBe(reason);
}
