import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

const gone = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

/**
 * Every file under `root`, walked one folder at a time so a folder the gateway removes while
 * we walk (an erasure pruning empty date folders, a spool file finishing) drops out of the
 * answer instead of failing the whole walk — `readdir({recursive})` throws on that race.
 */
export async function filesUnder(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
      if (gone(error)) return [];
      throw error;
    });
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  await walk(root);
  return files.sort();
}

/** Total bytes of the files under `root`; files that vanish meanwhile count as 0. */
export async function bytesUnder(root: string): Promise<number> {
  let total = 0;
  for (const path of await filesUnder(root)) {
    total += await stat(path).then(
      (s) => s.size,
      (error: unknown) => {
        if (gone(error)) return 0;
        throw error;
      },
    );
  }
  return total;
}
