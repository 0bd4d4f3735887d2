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

it("sweeps the temp files a crashed process left in the storage folder, and no live one", async () => {
  root = await mkdtemp(join(tmpdir(), "mediagate-stale-"));
  const tmp = join(root, RESERVED_DIR, "tmp");
  await mkdir(tmp, { recursive: true });
  const stale = join(tmp, "left-by-a-crash");
  const live = join(tmp, "being-written");
  await writeFile(stale, "half an upload");
  await writeFile(live, "an upload in flight");
  const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
  await utimes(stale, twoDaysAgo, twoDaysAgo);

  gateway = await startGatewayProcess({ FS_ROOT: root, AUTH_TOKENS: TOKEN });
  await expect.poll(() => exists(stale), { timeout: 10_000 }).toBe(false);
  expect(await exists(live)).toBe(true);
  expect(gateway.stdout()).toMatch(/removed stale temp files from the storage folder/);
});
