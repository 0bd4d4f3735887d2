import { access, mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RESERVED_DIR } from "@mediagate/fs";
import { afterEach, expect, it } from "vitest";
import { TOKEN } from "./support/backend-session.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

let root: string | undefined;
let gateway: GatewayProcess | undefined;
afterEach(async () => {
  await gateway?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

it("sweeps the temp files a crashed process left, once LEFTOVER_AGE old, and no live one", async () => {
  root = await mkdtemp(join(tmpdir(), "mediagate-stale-"));
  const tmp = join(root, RESERVED_DIR, "tmp");
  await mkdir(tmp, { recursive: true });
  const stale = join(tmp, "left-by-a-crash");
  const live = join(tmp, "being-written");
  await writeFile(stale, "half an upload");
  await writeFile(live, "an upload in flight");
  // Older than LEFTOVER_AGE (minutes), not a day: a crash's leftovers go at the next start.
  const twentyMinutesAgo = new Date(Date.now() - 20 * 60 * 1000);
  await utimes(stale, twentyMinutesAgo, twentyMinutesAgo);

  gateway = await startGatewayProcess({ FS_ROOT: root, AUTH_TOKENS: TOKEN });
  await expect.poll(() => exists(stale), { timeout: 10_000 }).toBe(false);
  expect(await exists(live)).toBe(true);
  const line = gateway.logs().find((l) => l.msg === "removed leftovers from the storage folder");
  expect(line).toMatchObject({ tempFiles: 1 });
});
