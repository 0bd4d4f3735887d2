/**
 * Data custody end to end, on every backend and with both ledgers: a real gateway process
 * with the admin API, driven over HTTP. Lists and usage per uid, export (the archive
 * unpacked and compared byte for byte), erasure of a message, an object and a whole uid,
 * retention with a clock the test controls, and quotas under concurrent uploads.
 */
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { startPostgres, type PostgresServer } from "@mediagate/test-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./backends/index.ts";
import { BackendSession, TOKEN } from "./support/backend-session.ts";
import { postForm, send } from "./support/http.ts";
import type { Part } from "./support/multipart.ts";

const ADMIN = "custody-admin-token-0123456789";
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(() => postgres?.stop());

const form = (uid: string, mid: string, body: Buffer, source = "0"): Part[] => [
  { name: "op", value: "upload" },
  { name: "auth", value: TOKEN },
  { name: "uid", value: uid },
  { name: "mid", value: mid },
  { name: "source", value: source },
  { name: "file", filename: `f${mid}.bin`, type: "application/octet-stream", body },
];

/** Unpacks a tar archive into name → bytes (test archives are small). */
async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: unknown) => chunks.push(c as Buffer));
    stream.on("end", () => {
      files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on("finish", () => resolve());
    extract.on("error", reject);
  });
  Readable.from([archive]).pipe(extract);
  await done;
  return files;
}

for (const fixture of backends) {
  for (const ledgerKind of ["sqlite", "postgres"] as const) {
    describe(`custody on ${fixture.name} with the ${ledgerKind} ledger`, () => {
      const session = new BackendSession(fixture);
      const admin = (path: string, method = "GET") =>
        send(`${session.gateway.url}/admin${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN}` },
        });
      const upload = async (uid: string, mid: string, body: Buffer, source?: string) => {
        const answer = await postForm(
          `${session.gateway.url}/upload`,
          form(uid, mid, body, source),
        );
        expect(answer.status, answer.text).toBe(200);
        return session.keyOf((answer.json as { url: string }).url);
      };
      const exists = (key: string) =>
        session.adapter.stat(key).then(
          () => true,
          () => false,
        );

      beforeAll(async () => {
        const ledger: Record<string, string> =
          ledgerKind === "sqlite"
            ? { LEDGER_PATH: join(await session.tempDir(), "ledger.db") }
            : { LEDGER_URL: await postgres.createDatabase(`c_${fixture.name}`) };
        await session.start({
          ...ledger,
          ADMIN_TOKENS: ADMIN,
          RETENTION: "thumbnail:1d",
          QUOTA_FILES_PER_DAY: "5",
          AUDIT_DOWNLOADS: "true",
        });
      }, 120_000);
      afterAll(() => session.stop());

      it("refuses the admin API without a valid token, as 401 JSON", async () => {
        const none = await send(`${session.gateway.url}/admin/uids/1/usage`);
        expect(none.status).toBe(401);
        expect(none.json).toMatchObject({ result: false, error: { code: "UNAUTHORIZED" } });
        const wrong = await send(`${session.gateway.url}/admin/uids/1/usage`, {
          headers: { authorization: "Bearer not-the-admin-token-000" },
        });
        expect(wrong.status).toBe(401);
      });

      it("lists a uid's files page by page with its usage, and exports them byte for byte", async () => {
        const bodies = [randomBytes(3000), randomBytes(70_000), Buffer.alloc(0), randomBytes(9)];
        const keys: string[] = [];
        for (const [i, body] of bodies.entries())
          keys.push(await upload("42", String(100 + i), body));
        await upload("43", "200", randomBytes(10));

        const usage = await admin("/uids/42/usage");
        expect(usage.json).toMatchObject({
          result: true,
          usage: { files: 4, bytes: 73_009 },
        });
        const first = await admin("/uids/42/files?limit=3");
        const page1 = first.json as { files: { key: string }[]; cursor: string };
        expect(page1.files).toHaveLength(3);
        const second = await admin(
          `/uids/42/files?limit=3&cursor=${encodeURIComponent(page1.cursor)}`,
        );
        const page2 = second.json as { files: { key: string }[]; cursor: string | null };
        expect([...page1.files, ...page2.files].map((f) => f.key)).toEqual(keys);
        expect(page2.cursor).toBeNull();

        const exported = await admin("/uids/42/export");
        expect(exported.status).toBe(200);
        expect(exported.headers["content-type"]).toBe("application/x-tar");
        const files = await untar(exported.body);
        const manifest = JSON.parse(files.get("manifest.json")?.toString() ?? "{}") as {
          uid: string;
          files: { key: string; path: string; sha256: string; size: number; mid: string }[];
        };
        expect(manifest.uid).toBe("42");
        expect(manifest.files.map((f) => f.key)).toEqual(keys);
        for (const [i, entry] of manifest.files.entries()) {
          expect(files.get(entry.path)?.equals(bodies[i] as Buffer)).toBe(true);
          expect(entry).toMatchObject({
            sha256: sha256(bodies[i] as Buffer),
            size: bodies[i]?.length,
            mid: String(100 + i),
          });
        }
        expect([...files.keys()].filter((n) => n.startsWith("files/"))).toHaveLength(4);
      });

      it("erases one message's files, one object by URL, and a whole uid, leaving others", async () => {
        const a = await upload("50", "500", randomBytes(100));
        const b = await upload("50", "501", randomBytes(100));
        const c = await upload("50", "502", randomBytes(100));
        const d = await upload("50", "503", randomBytes(100));
        const other = await upload("51", "510", randomBytes(100));

        expect((await admin("/messages/500", "DELETE")).json).toEqual({ result: true, removed: 1 });
        expect(await exists(a)).toBe(false);
        const byUrl = await admin(
          `/objects?url=${encodeURIComponent(`https://cdn.example/x/files/${b}`)}`,
          "DELETE",
        );
        expect(byUrl.json).toEqual({ result: true, removed: 1 });
        expect(await exists(b)).toBe(false);

        const erased = await admin("/uids/50/erase?wait=true", "POST");
        expect(erased.json).toMatchObject({
          result: true,
          erasure: { uid: "50", state: "finished" },
        });
        expect([await exists(c), await exists(d), await exists(other)]).toEqual([
          false,
          false,
          true,
        ]);
        expect((await admin("/uids/50/files")).json).toMatchObject({ files: [] });
        // Erasing again, or a uid that never uploaded, is a quiet success.
        expect((await admin("/uids/50/erase?wait=true", "POST")).status).toBe(200);
        expect((await admin("/uids/99999/erase?wait=true", "POST")).status).toBe(200);
        expect((await admin("/uids/99999/files")).json).toMatchObject({ result: true, files: [] });
        const unknown = await admin("/uids/not-a-uid/files");
        expect(unknown.status).toBe(400);
      });

      it("removes expired objects from storage and the ledger when the sweep's clock passes them", async () => {
        const thumb = await upload("60", "600", randomBytes(50), "3");
        const message = await upload("60", "601", randomBytes(50), "0");
        const before = await admin(
          `/retention/sweep?now=${new Date(Date.now() + 3_600_000).toISOString()}`,
          "POST",
        );
        expect(before.json).toEqual({ result: true, removed: 0 });
        const later = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString();
        const swept = await admin(`/retention/sweep?now=${later}`, "POST");
        expect(swept.json).toMatchObject({ result: true });
        expect((swept.json as { removed: number }).removed).toBeGreaterThanOrEqual(1);
        expect([await exists(thumb), await exists(message)]).toEqual([false, true]);
        const listed = (await admin("/uids/60/files")).json as { files: { key: string }[] };
        expect(listed.files.map((f) => f.key)).toEqual([message]);
      });

      it("lets concurrent uploads of one uid pass its daily quota by nothing", async () => {
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            postForm(
              `${session.gateway.url}/upload`,
              form("70", String(700 + i), randomBytes(500)),
            ),
          ),
        );
        const statuses = answers.map((a) => a.status).sort();
        expect(statuses.filter((s) => s === 200)).toHaveLength(5);
        for (const refused of answers.filter((a) => a.status !== 200)) {
          expect(refused.status).toBe(429);
          expect(refused.json).toMatchObject({ error: { code: "QUOTA_EXCEEDED_TODAY" } });
          expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
        }
        const usage = (await admin("/uids/70/usage")).json as { usage: { files: number } };
        expect(usage.usage.files).toBe(5);
        const listed = (await admin("/uids/70/files")).json as { files: { key: string }[] };
        for (const file of listed.files) expect(await exists(file.key)).toBe(true);
      });

      it("writes an audit event for uploads, erasures, downloads and admin calls, never a token", async () => {
        const key = await upload("80", "800", randomBytes(20));
        await send(`${session.gateway.url}/files/${key}`);
        await admin("/uids/80/erase?wait=true", "POST");
        await expect
          .poll(() =>
            session.gateway
              .logs()
              .filter((l) => l.audit === true)
              .map((l) => l.event),
          )
          .toEqual(
            expect.arrayContaining([
              "upload",
              "download",
              "erase.uid.started",
              "erase.uid.finished",
              "admin",
            ]),
          );
        const text = session.gateway.stdout();
        expect(text).not.toContain(ADMIN);
        expect(text).not.toContain(TOKEN);
      });
    });
  }
}
