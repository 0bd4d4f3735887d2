import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import type { ObjectInfo, StorageAdapter } from "@mediagate/core";
import { openLedger, type Ledger, type LedgerRecord } from "@mediagate/ledger";
import {
  ConfigError,
  loadConfig,
  mergeEnv,
  readDotenvFile,
  type GatewayConfig,
} from "../config/load.ts";
import { sourceCode } from "../custody/sources.ts";
import { isObjectKey } from "../upload/keys.ts";

const USAGE = `Usage: mediagate ledger verify [--repair]

Compares the storage backend with the ledger, both read in key order: objects the ledger
has no record of, and records whose object is gone. With --repair, an object the gateway
stored (its metadata names the message) gets its record back, an object of an erased uid is
removed, and a record without its object is dropped. Reads the configuration like the
gateway (environment, then a .env file). Exit status: 0 consistent (or repaired), 1 not.`;

interface Findings {
  objects: number;
  records: number;
  unrecorded: string[];
  missing: string[];
  repaired: number;
  /** Objects no record can be made for (not the gateway's). */
  foreign: string[];
}

/** Storage's objects and the ledger's records, merged in key (UTF-8 byte) order. */
async function* merged(
  storage: StorageAdapter,
  ledger: Ledger,
): AsyncGenerator<{ key: string; object: boolean; record: LedgerRecord | undefined }> {
  const objects = (async function* () {
    for await (const entry of storage.list()) if (isObjectKey(entry.key)) yield entry.key;
  })();
  const records = (async function* () {
    let cursor: string | null = null;
    do {
      const page = await ledger.listAll({ cursor, limit: 500 });
      yield* page.items;
      cursor = page.cursor;
    } while (cursor);
  })();
  let object = await objects.next();
  let record = await records.next();
  const order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  while (!object.done || !record.done) {
    const cmp = object.done ? 1 : record.done ? -1 : order(object.value, record.value.key);
    if (cmp === 0 && !object.done && !record.done) {
      yield { key: object.value, object: true, record: record.value };
      object = await objects.next();
      record = await records.next();
    } else if (cmp < 0 && !object.done) {
      yield { key: object.value, object: true, record: undefined };
      object = await objects.next();
    } else if (!record.done) {
      yield { key: record.value.key, object: false, record: record.value };
      record = await records.next();
    }
  }
}

/** The record an object the gateway stored would have had, from its metadata. */
function recordFrom(info: ObjectInfo, backend: string) {
  const m = info.metadata;
  if (m.mid === undefined) return undefined;
  return {
    key: info.key,
    backend,
    uid: m.uid ?? null,
    mid: m.mid,
    source: sourceCode(m.source ?? "99"),
    name: m.filename ?? "",
    size: info.size,
    sha256: m.sha256 ?? "",
    contentType: info.contentType,
    createdAt: info.lastModified,
    expiresAt: null,
  };
}

export async function verifyLedger(
  config: GatewayConfig,
  options: { repair: boolean; progress: boolean },
): Promise<Findings> {
  if (!config.custody.ledger) throw new ConfigError("LEDGER=off: there is no ledger to verify");
  const settings = config.custody.ledger;
  const storage = await config.storage.provider.create(config.storage.env, { createBucket: false });
  const ledger = await openLedger(
    settings.kind === "sqlite" ? { kind: "sqlite", path: settings.path, durable: true } : settings,
  );
  const found: Findings = {
    objects: 0,
    records: 0,
    unrecorded: [],
    missing: [],
    repaired: 0,
    foreign: [],
  };
  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          format:
            "verify [{bar}] {value}/{total} records | {objects} objects | {eta_formatted} left",
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  try {
    bar?.start((await ledger.stats()).records, 0, { objects: 0 });
    for await (const { key, object, record } of merged(storage, ledger)) {
      if (object) found.objects++;
      if (record) found.records++;
      bar?.update(found.records, { objects: found.objects });
      if (object && !record) {
        found.unrecorded.push(key);
        if (options.repair) await repairUnrecorded(storage, ledger, key, config, found);
      } else if (!object && record) {
        found.missing.push(key);
        if (options.repair && (await ledger.remove(key))) found.repaired++;
      }
    }
  } finally {
    bar?.stop();
    await ledger.close();
  }
  return found;
}

async function repairUnrecorded(
  storage: StorageAdapter,
  ledger: Ledger,
  key: string,
  config: GatewayConfig,
  found: Findings,
): Promise<void> {
  const info = await storage.stat(key);
  const record = recordFrom(info, storage.name);
  if (!record) {
    found.foreign.push(key);
    return;
  }
  const expiresAt =
    config.custody.retention?.expiry(info.metadata.source ?? "99", info.lastModified) ?? null;
  const result = await ledger.record(
    { ...record, expiresAt },
    { uploadStartedAt: info.lastModified },
  );
  // Its uid was erased after it was stored: it should not exist at all.
  if (result.status === "refused") await storage.delete(key);
  found.repaired++;
}

/** `mediagate ledger verify [--repair]`; returns the exit status. */
export async function runLedgerCommand(args: string[], baseDir: string): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`mediagate ledger: ${message}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { repair: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.positionals[0] !== "verify" || parsed.positionals.length !== 1) return fail(USAGE);
  let config: GatewayConfig;
  try {
    config = loadConfig(mergeEnv(readDotenvFile(baseDir), process.env), baseDir);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  const repair = parsed.values.repair ?? false;
  let found: Findings;
  try {
    found = await verifyLedger(config, { repair, progress: process.stderr.isTTY === true });
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  const problems = found.unrecorded.length + found.missing.length;
  const lines = [
    `${found.objects} objects in storage, ${found.records} records in the ledger`,
    `${found.unrecorded.length} objects without a record${list(found.unrecorded)}`,
    `${found.missing.length} records without an object${list(found.missing)}`,
  ];
  if (repair) {
    lines.push(`${found.repaired} repaired`);
    if (found.foreign.length > 0) {
      lines.push(
        `${found.foreign.length} objects not stored by the gateway, left alone${list(found.foreign)}`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  const left = repair ? found.foreign.length : problems;
  return left === 0 ? 0 : 1;
}

const list = (keys: string[]) =>
  keys.length === 0
    ? ""
    : `:\n${keys
        .slice(0, 20)
        .map((k) => `  ${k}`)
        .join("\n")}${keys.length > 20 ? `\n  … and ${keys.length - 20} more` : ""}`;
