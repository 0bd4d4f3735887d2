import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { Ledger, LedgerRecord } from "@mediagate/ledger";

/** One file of an export as the manifest describes it. */
export interface ManifestEntry {
  path: string;
  key: string;
  mid: string | null;
  source: number;
  name: string;
  size: number;
  sha256: string;
  contentType: string;
  createdAt: string;
  expiresAt: string | null;
  attributes: Record<string, string>;
}

export interface ExportOptions {
  ledger: Ledger;
  uid: string;
  /** The object's bytes as stored for its owner (decrypted when encryption is on). */
  open: (key: string) => Promise<Readable>;
  signal: AbortSignal;
  /** Where the manifest is written while it is built (never in memory). */
  workDir?: string;
}

const PAGE = 200;

const entryOf = (record: LedgerRecord): ManifestEntry => ({
  path: `files/${record.key}`,
  key: record.key,
  mid: record.mid,
  source: record.source,
  name: record.name,
  size: record.size,
  sha256: record.sha256,
  contentType: record.contentType,
  createdAt: record.createdAt.toISOString(),
  expiresAt: record.expiresAt?.toISOString() ?? null,
  attributes: record.attributes,
});

/** The manifest: a JSON object with one file entry per line, so it also reads line by line. */
async function* manifestLines(ledger: Ledger, uid: string): AsyncGenerator<string> {
  yield `{"uid":${JSON.stringify(uid)},"files":[\n`;
  let cursor: string | null = null;
  let first = true;
  do {
    const page = await ledger.listByUid(uid, { cursor, limit: PAGE });
    for (const record of page.items) {
      yield `${first ? "" : ",\n"}${JSON.stringify(entryOf(record))}`;
      first = false;
    }
    cursor = page.cursor;
  } while (cursor);
  yield "\n]}\n";
}

/** The entries of a manifest file written by `manifestLines`, read back one line at a time. */
async function* entriesIn(path: string): AsyncGenerator<ManifestEntry> {
  for await (const line of createInterface({
    input: createReadStream(path),
    crlfDelay: Infinity,
  })) {
    const text = line.replace(/,$/, "");
    if (text.startsWith('{"path"')) yield JSON.parse(text) as ManifestEntry;
  }
}

/**
 * Streams a uid's files as one tar archive (GDPR article 20): `manifest.json` first, with
 * each file's metadata, then every file under `files/<key>`. Memory stays constant whatever
 * the size or count: a tar entry needs its length up front, so the manifest is written to a
 * temp file first, and the files are then read from storage one by one, in the manifest's
 * order. A file gone meanwhile (erased, expired) ends the archive early: the client sees a
 * truncated tar, and the returned `complete` is false.
 */
export async function exportUid(
  options: ExportOptions,
  out: Writable,
): Promise<{ files: number; bytes: number; complete: boolean }> {
  const { ledger, uid, open, signal } = options;
  const dir = await mkdtemp(join(options.workDir ?? tmpdir(), "mediagate-export-"));
  let files = 0;
  let bytes = 0;
  try {
    const manifestPath = join(dir, "manifest.json");
    await pipeline(Readable.from(manifestLines(ledger, uid)), createWriteStream(manifestPath), {
      signal,
    });
    const pack = tar.pack();
    const sent = pipeline(pack, out, { signal });
    const { size } = await stat(manifestPath);
    const now = new Date();
    await pipeline(
      createReadStream(manifestPath),
      pack.entry({ name: "manifest.json", size, mtime: now }),
    );
    try {
      for await (const file of entriesIn(manifestPath)) {
        const entry = pack.entry({
          name: file.path,
          size: file.size,
          mtime: new Date(file.createdAt),
        });
        await pipeline(await open(file.key), entry, { signal });
        files++;
        bytes += file.size;
      }
    } catch (err) {
      pack.destroy(err as Error);
      await sent.catch(() => undefined);
      return { files, bytes, complete: false };
    }
    pack.finalize();
    await sent;
    return { files, bytes, complete: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
