import { randomFillSync } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsAdapter } from "@mediagate/fs";
import { startGateway, type GatewayProcess } from "@mediagate/test-servers";

/** Accepted by every gateway the tests start. */
export const TOKEN = "good-token-0123456789abcdef";

/** A real gateway process on the fs backend, in a fresh folder, and a view of that folder. */
export interface Stack {
  root: string;
  gateway: GatewayProcess;
  /** The same folder through the fs adapter: what the gateway really stored. */
  storage: FsAdapter;
  /** `<gateway>/upload` */
  uploadUrl: string;
  stop(): Promise<void>;
}

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const root = await mkdtemp(join(tmpdir(), "mediagate-client-"));
  let gateway: GatewayProcess;
  try {
    gateway = await startGateway({
      STORAGE_PROVIDER: "fs",
      FS_ROOT: root,
      AUTH_TOKENS: TOKEN,
      ...env,
    });
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  return {
    root,
    gateway,
    storage: new FsAdapter({ root }),
    uploadUrl: `${gateway.url}/upload`,
    async stop() {
      await gateway.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Every object key the backend holds. */
export async function storedKeys(storage: FsAdapter): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of storage.list("")) keys.push(info.key);
  return keys.sort();
}

/** Files in the fs backend's temp folder: a write in progress, or one left behind. */
export async function tempFiles(root: string): Promise<{ name: string; size: number }[]> {
  const dir = join(root, ".mediagate", "tmp");
  const names = await readdir(dir).catch(() => [] as string[]);
  const files = [];
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) files.push({ name, size: info.size });
  }
  return files;
}

/** The object key a download URL names (`<origin>/files/<key>`). */
export function keyOf(url: string): string {
  const path = new URL(url).pathname;
  if (!path.startsWith("/files/")) throw new Error(`not a download URL: ${url}`);
  return path.slice("/files/".length);
}

export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  return randomFillSync(new Uint8Array(size));
}
