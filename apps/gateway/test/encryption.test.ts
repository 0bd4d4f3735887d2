/**
 * ENCRYPTION=on end to end, on every backend: what the store holds is ciphertext, what
 * clients download (whole, and every kind of range) is the plaintext, byte for byte; a
 * flipped byte or a cut object is never served whole; erasing a uid destroys its key first,
 * so its objects cannot be read again; `mediagate keys rotate` re-wraps keys so an old master
 * key can go; objects stored before encryption was turned on stay readable.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { generateMasterKey } from "@mediagate/encryption";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { postForm, send } from "./support/http.ts";
import type { Part } from "./support/multipart.ts";

const ADMIN = "encryption-admin-token-0123456789";
const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../src/main.ts");
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
/** Two and a half 64 KiB segments, so ranges cross segment boundaries. */
const SIZE = 160 * 1024 + 123;

const form = (uid: string, mid: string, body: Buffer): Part[] => [
  { name: "op", value: "upload" },
  { name: "auth", value: TOKEN },
  { name: "uid", value: uid },
  { name: "mid", value: mid },
  { name: "file", filename: "clip.bin", type: "application/octet-stream", body },
];

async function bytesOf(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `mediagate <args>` with the gateway's environment; resolves with its exit and output. */
function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(
      process.execPath,
      ["--conditions=source", MAIN, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env } },
      (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
    ),
  );
}

for (const fixture of backends) {
  describe(`encryption at rest on ${fixture.name}`, () => {
    const session = new BackendSession(fixture);
    const first = generateMasterKey();
    let env: Record<string, string>;
    const plain = randomBytes(SIZE);
    let url = "";
    let key = "";

    const upload = async (uid: string, mid: string, body: Buffer) => {
      const answer = await postForm(`${session.gateway.url}/upload`, form(uid, mid, body));
      expect(answer.status, answer.text).toBe(200);
      return (answer.json as { url: string }).url;
    };
    const download = (at: string, headers: Record<string, string> = {}) =>
      send(session.local(at), { headers }).catch((err: Error) => err);

    beforeAll(async () => {
      env = {
        LEDGER_PATH: join(await session.tempDir(), "ledger.db"),
        ADMIN_TOKENS: ADMIN,
        ENCRYPTION: "on",
        ENCRYPTION_KEYS: first.base64,
      };
      await session.start(env);
      url = await upload("42", "1", plain);
      key = session.keyOf(url);
    }, 120_000);
    afterAll(() => session.stop());

    it("stores ciphertext and serves the plaintext, with the plaintext's length and hash", async () => {
      const raw = await bytesOf((await session.adapter.read(key)).body);
      expect(raw.length).toBeGreaterThan(SIZE);
      expect(raw.includes(plain.subarray(1000, 1064))).toBe(false);
      const answer = await download(url);
      if (answer instanceof Error) throw answer;
      expect(answer.status).toBe(200);
      expect(answer.headers["content-length"]).toBe(String(SIZE));
      expect(sha256(answer.body)).toBe(sha256(plain));
    });

    it.each([
      ["the first byte", "bytes=0-0", 0, 0],
      ["the last byte", `bytes=${SIZE - 1}-`, SIZE - 1, SIZE - 1],
      ["a suffix", "bytes=-1000", SIZE - 1000, SIZE - 1],
      ["across a segment boundary", "bytes=65000-70000", 65000, 70000],
      ["inside the header-shortened first segment", "bytes=10-65400", 10, 65400],
      ["a whole middle segment", `bytes=65496-${65496 + 65536 - 1}`, 65496, 65496 + 65535],
      ["an open end", "bytes=100000-", 100000, SIZE - 1],
    ])("serves %s of it (%s)", async (_name, range, start, end) => {
      const answer = await download(url, { range });
      if (answer instanceof Error) throw answer;
      expect(answer.status).toBe(206);
      expect(answer.headers["content-range"]).toBe(`bytes ${start}-${end}/${SIZE}`);
      expect(answer.body.equals(plain.subarray(start, end + 1))).toBe(true);
    });

    it("answers a range past the end 416 with the plaintext's size", async () => {
      const answer = await download(url, { range: `bytes=${SIZE}-` });
      if (answer instanceof Error) throw answer;
      expect(answer.status).toBe(416);
      expect(answer.headers["content-range"]).toBe(`bytes */${SIZE}`);
    });

    it("never serves a tampered or cut object as if whole", async () => {
      const victim = await upload("43", "2", randomBytes(SIZE));
      const victimKey = session.keyOf(victim);
      const { info, body } = await session.adapter.read(victimKey);
      const raw = await bytesOf(body);
      const rewrite = (bytes: Buffer) =>
        session.adapter.write(victimKey, Readable.from([bytes]), {
          contentType: info.contentType,
          metadata: info.metadata,
        });
      const flipped = Buffer.from(raw);
      flipped[100_000] = (flipped[100_000] ?? 0) ^ 1;
      await rewrite(flipped);
      const tampered = await download(victim);
      expect(tampered instanceof Error || tampered.body.length < SIZE).toBe(true);
      await rewrite(raw.subarray(0, raw.length - 70_000));
      const cut = await download(victim);
      expect(cut instanceof Error || cut.body.length < SIZE || cut.status >= 400).toBe(true);
      await rewrite(raw);
      const restored = await download(victim);
      expect(restored instanceof Error ? 0 : restored.body.length).toBe(SIZE);
    });

    it("re-wraps every uid key with a new master key, so the old one can be removed", async () => {
      const second = generateMasterKey();
      const rotating = {
        ...session.gatewayEnv(),
        ENCRYPTION_KEYS: `${second.base64},${first.base64}`,
      };
      const rotated = await cli(["keys", "rotate"], rotating);
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toMatch(/re-wrapped with master key/);
      await session.restartGateway({ ENCRYPTION_KEYS: second.base64 });
      const answer = await download(url);
      if (answer instanceof Error) throw answer;
      expect(sha256(answer.body)).toBe(sha256(plain));
      env.ENCRYPTION_KEYS = second.base64;
    });

    it("destroys a uid's key when it is erased: a copy of its objects cannot be read", async () => {
      const doomed = await upload("44", "3", randomBytes(1000));
      const doomedKey = session.keyOf(doomed);
      // A backup taken before the erasure: the raw bytes and their metadata.
      const { info, body } = await session.adapter.read(doomedKey);
      const backup = await bytesOf(body);
      const erased = await send(`${session.gateway.url}/admin/uids/44/erase?wait=true`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(erased.status).toBe(200);
      // Restored into the store, it still cannot be read: its uid's key no longer exists.
      await session.adapter.write(doomedKey, Readable.from([backup]), {
        contentType: info.contentType,
        metadata: info.metadata,
      });
      const again = await download(doomed);
      expect(again instanceof Error ? 0 : again.status).toBe(404);
      // Another uid's objects are untouched.
      const other = await download(url);
      expect(other instanceof Error ? 0 : other.status).toBe(200);
      await session.adapter.delete(doomedKey);
    });

    it("still serves objects stored before encryption was turned on", async () => {
      await session.restartGateway({ ENCRYPTION: "off", ENCRYPTION_KEYS: "" });
      const older = await upload("45", "4", Buffer.from("stored in the clear"));
      await session.restartGateway(env);
      const answer = await download(older);
      if (answer instanceof Error) throw answer;
      expect(answer.body.toString()).toBe("stored in the clear");
    });
  });
}
