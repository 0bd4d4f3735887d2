import { randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { request } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startS3rver, type S3rverServer } from "../../src/s3/s3rver.ts";

/**
 * What S3 documents for an interrupted PutObject: no object is created from an incomplete
 * body, and an object already under the key stays as it was. (s3rver alone keeps the
 * truncated file as the object.) Raw anonymous HTTP (s3rver takes it; the signature checks
 * are the recording proxy's), so nothing but the server decides.
 */
const BUCKET = "fidelity-bucket";
let server: S3rverServer;

beforeAll(async () => {
  server = await startS3rver({ buckets: [BUCKET] });
});
afterAll(async () => {
  await server?.stop();
});

function put(key: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.endpoint}/${BUCKET}/${key}`, {
      method: "PUT",
      headers: { "content-length": body.length },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function get(key: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.endpoint}/${BUCKET}/${key}`);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Bytes the server has written for `key` so far, in any file named after it. */
async function bytesOnDisk(key: string): Promise<number> {
  const dir = path.join(server.directory, BUCKET);
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(`${key}._S3rver_object`)) total += (await stat(path.join(dir, name))).size;
  }
  return total;
}

/** Sends `sent` bytes of a `declared`-byte PutObject, waits until the server wrote some, and resets. */
async function interruptedPut(key: string, declared: number, sent: number): Promise<void> {
  const req = request(`${server.endpoint}/${BUCKET}/${key}`, {
    method: "PUT",
    headers: { "content-length": declared },
  });
  req.on("error", () => {});
  req.write(randomBytes(sent));
  await expect.poll(() => bytesOnDisk(key), { timeout: 10_000 }).toBeGreaterThan(0);
  req.destroy();
}

/** Only `.partial-` temp files and objects live in the bucket folder; temps must be gone. */
async function tempFiles(): Promise<string[]> {
  const names = await readdir(path.join(server.directory, BUCKET));
  return names.filter((n) => n.includes(".partial-"));
}

it("an interrupted PutObject creates no object", async () => {
  await interruptedPut("fresh", 4 * 1024 * 1024, 512 * 1024);
  await expect.poll(tempFiles, { timeout: 10_000 }).toEqual([]);
  expect(await server.objects(BUCKET)).not.toContain("fresh");
  expect((await get("fresh")).status).toBe(404);
});

it("an interrupted overwrite leaves the previous object intact", async () => {
  const previous = randomBytes(64 * 1024);
  expect(await put("kept", previous)).toBe(200);
  await interruptedPut("kept", 4 * 1024 * 1024, 512 * 1024);
  await expect.poll(tempFiles, { timeout: 10_000 }).toEqual([]);
  const after = await get("kept");
  expect(after.status).toBe(200);
  expect(after.body.equals(previous)).toBe(true);
});

it("a complete PutObject still round-trips", async () => {
  const body = randomBytes(300 * 1024);
  expect(await put("whole", body)).toBe(200);
  const back = await get("whole");
  expect(back.body.equals(body)).toBe(true);
  expect(await tempFiles()).toEqual([]);
});
