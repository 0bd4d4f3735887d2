/**
 * A gateway killed with SIGKILL at random moments while it stores concurrent uploads, then
 * restarted, on every backend: every upload that was answered downloads byte for byte, no
 * object is ever served cut short, and what the killed process left behind is swept by the
 * next start (LEFTOVER_AGE and ABANDONED_UPLOAD_AGE set short for the test).
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { postForm, send } from "./support/http.ts";

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 2);
const UPLOADS = 16;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

for (const fixture of backends) {
  describe(`SIGKILL during uploads on ${fixture.name}`, () => {
    const session = new BackendSession(fixture);
    beforeAll(() => session.start({ LEFTOVER_AGE: "1s", ABANDONED_UPLOAD_AGE: "1s" }), 60_000);
    afterAll(() => session.stop());

    it(`keeps every answered upload whole across ${ROUNDS} kills`, async () => {
      const answered = new Map<string, string>();
      for (let round = 0; round < ROUNDS; round++) {
        const bodies = Array.from({ length: UPLOADS }, () => randomBytes(randomInt(1, 3_000_000)));
        const uploads = bodies.map((body, i) =>
          postForm(`${session.gateway.url}/upload`, [
            { name: "op", value: "upload" },
            { name: "auth", value: TOKEN },
            { name: "uid", value: "1" },
            { name: "mid", value: String(round * 100 + i) },
            { name: "file", filename: "x.bin", type: "application/octet-stream", body },
          ]).then(
            (answer) => ({ answer, body }),
            () => undefined,
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, randomInt(20, 400)));
        session.gateway.signal("SIGKILL");
        for (const done of await Promise.all(uploads)) {
          if (done?.answer.status === 200) {
            answered.set((done.answer.json as { url: string }).url, sha256(done.body));
          }
        }
        await session.gateway.exited;
        // Older than LEFTOVER_AGE by the time the next start sweeps.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await session.restartGateway({});
      }
      for (const [url, hash] of answered) {
        const download = await send(session.local(url));
        expect(download.status).toBe(200);
        expect(sha256(download.body)).toBe(hash);
      }
      // Whatever else landed is served whole, or not at all.
      const { objects } = await session.inventory();
      for (const key of objects) {
        const info = await session.adapter.stat(key);
        const download = await send(`${session.gateway.url}/files/${key}`);
        if (download.status === 200) {
          expect(download.body.length).toBe(info.size);
          if (info.metadata.sha256) expect(sha256(download.body)).toBe(info.metadata.sha256);
        } else {
          expect(download.status).toBe(500);
        }
      }
      await expect
        .poll(async () => (await session.inventory()).leftovers, { timeout: 15_000 })
        .toEqual([]);
      expect(await session.spoolFiles()).toEqual([]);
    });
  });
}
