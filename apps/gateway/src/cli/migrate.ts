import { parseArgs } from "node:util";
import { isStorageError, type StorageAdapter } from "@mediagate/core";
import { openLedger, type Ledger } from "@mediagate/ledger";
import {
  ConfigError,
  loadConfig,
  mergeEnv,
  readDotenvFile,
  type GatewayConfig,
  type StorageConfig,
} from "../config/load.ts";
import { humanBytes, humanDuration, startProgress } from "../migrate/progress.ts";
import { migrate, planMigration, type MigrationResult, type Plan } from "../migrate/run.ts";
import { ledgerName, readTargetFile, storeIdentity } from "../migrate/target.ts";

const USAGE = `Usage: mediagate migrate --to <target.env> [--dry-run] [--concurrency N] [--force-same-kind]

Copies every object the ledger records from the backend the gateway uses now (its
configuration: the environment, then a .env file) to the backend <target.env> describes (a
dotenv file: STORAGE_PROVIDER and that provider's variables), under the same keys, with
their content type, disposition and metadata. Each copy is verified by SHA-256, read back
from the target, before its record is pointed at the target; a re-run skips what was
already moved, so an interrupted run resumes. Nothing is deleted from the current backend.

  --to FILE           the target backend's settings (required)
  --dry-run           count what would be copied, and write nothing
  --concurrency N     objects copied at a time, 1 to 64 (default 4)
  --force-same-kind   allow a target of the source's kind (another bucket or folder)

Exit status: 0 everything copied and verified, 1 some objects were not (listed), 2 the
command could not run (configuration, a backend or the ledger unreachable).`;

class CommandError extends Error {}

/** Builds a store's adapter and checks it answers; `create` makes a missing bucket/folder. */
async function openStore(
  store: StorageConfig,
  role: string,
  create: boolean,
): Promise<{ adapter: StorageAdapter; missing: boolean }> {
  const name = store.provider.name;
  try {
    const adapter = await store.provider.create(store.env, { createBucket: create });
    try {
      await adapter.check();
      return { adapter, missing: false };
    } catch (err) {
      if (isStorageError(err, "NotFound")) return { adapter, missing: true };
      throw err;
    }
  } catch (err) {
    throw new CommandError(`the ${role} (${name}) cannot be used: ${(err as Error).message}`);
  }
}

const skippedLine = (skipped: Plan["skipped"], targetName: string, removed: boolean) =>
  [
    `skipped: ${skipped.done} already on ${targetName}`,
    `${skipped.deleting} being deleted by retention`,
    ...(removed ? [`${skipped.removed} removed from the ledger while copied`] : []),
  ].join(", ");

function dryRunReport(plan: Plan, from: string, targetName: string, missing: boolean): string {
  const lines = [
    `dry run: ${from} → ${targetName}, nothing written`,
    `would copy ${plan.objects} objects, ${humanBytes(plan.bytes)} (as the ledger records them)`,
    skippedLine(plan.skipped, targetName, false),
  ];
  if (missing)
    lines.push("the target's bucket or folder does not exist yet: a real run creates it");
  for (const key of plan.sample) lines.push(`  ${key}`);
  if (plan.objects > plan.sample.length)
    lines.push(`  … and ${plan.objects - plan.sample.length} more`);
  return `${lines.join("\n")}\n`;
}

function summary(result: MigrationResult, from: string, targetName: string): string {
  const seconds = Math.max(result.elapsedMs / 1000, 0.001);
  const lines = [
    `migrated ${from} → ${targetName}: ${result.copied} copied (${humanBytes(result.bytes)}), each verified by SHA-256 read back from the target`,
    skippedLine(result.skipped, targetName, true),
    `failed: ${result.failed}`,
    ...result.failures.map((f) => `  ${f.key}: ${f.reason}`),
  ];
  if (result.failed > result.failures.length) {
    lines.push(`  … and ${result.failed - result.failures.length} more`);
  }
  if (result.stopped) lines.push(`stopped early: ${result.stopped}; run it again to go on`);
  lines.push(
    `took ${humanDuration(result.elapsedMs)}: ${(result.copied / seconds).toFixed(1)} objects/s, ${(result.bytes / 1024 ** 2 / seconds).toFixed(1)} MiB/s`,
  );
  return `${lines.join("\n")}\n`;
}

interface Args {
  to: string;
  dryRun: boolean;
  concurrency: number;
  forceSameKind: boolean;
}

async function run(args: Args, config: GatewayConfig, baseDir: string): Promise<number> {
  const settings = config.custody.ledger;
  if (!settings) throw new CommandError("LEDGER=off: there is no ledger to migrate from");
  const source = config.storage;
  const target = readTargetFile(args.to, baseDir);
  const sameKind = target.provider.name === source.provider.name;
  if (sameKind && storeIdentity(target) === storeIdentity(source)) {
    throw new CommandError(`${args.to} describes the store the gateway uses now: nothing to copy`);
  }
  const targetName = ledgerName(target, sameKind);
  if (sameKind && !args.forceSameKind) {
    throw new CommandError(
      `the target is ${source.provider.name}, like the source: pass --force-same-kind to copy to another ${source.provider.name} store (its records are then named "${targetName}" in the ledger)`,
    );
  }
  const from = source.provider.name;
  const sourceStore = await openStore(source, "source", false);
  if (sourceStore.missing) throw new CommandError(`the source (${from}) does not exist`);
  const targetStore = await openStore(target, "target", !args.dryRun && target.createBucket);
  if (targetStore.missing && !(args.dryRun && target.createBucket)) {
    throw new CommandError(
      `the target's bucket or folder does not exist: create it, or set STORAGE_CREATE_BUCKET=true in ${args.to}`,
    );
  }
  let ledger: Ledger;
  try {
    // Not fsynced per update: a pointer lost with the machine (not with the process) only
    // means a verified copy is made again on the next run.
    ledger = await openLedger(
      settings.kind === "sqlite"
        ? { kind: "sqlite", path: settings.path, durable: false }
        : settings,
    );
  } catch (err) {
    throw new CommandError(`the ledger cannot be opened: ${(err as Error).message}`);
  }
  try {
    const plan = await planMigration(ledger, targetName);
    if (args.dryRun) {
      process.stdout.write(dryRunReport(plan, from, targetName, targetStore.missing));
      return 0;
    }
    const controller = new AbortController();
    const interrupt = () => controller.abort(new Error("interrupted"));
    process.once("SIGINT", interrupt);
    process.once("SIGTERM", interrupt);
    const progress = startProgress(plan, process.stderr);
    let result: MigrationResult;
    try {
      result = await migrate({
        source: sourceStore.adapter,
        target: targetStore.adapter,
        ledger,
        targetName,
        concurrency: args.concurrency,
        signal: controller.signal,
        onBytes: (n) => progress.bytes(n),
        onObject: () => progress.object(),
      });
    } finally {
      progress.stop();
      process.off("SIGINT", interrupt);
      process.off("SIGTERM", interrupt);
    }
    process.stdout.write(summary(result, from, targetName));
    return result.failed === 0 && result.stopped === undefined ? 0 : 1;
  } finally {
    await ledger.close();
  }
}

/** `mediagate migrate --to <file> [--dry-run] [--concurrency N] [--force-same-kind]`. */
export async function runMigrateCommand(args: string[], baseDir: string): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`mediagate migrate: ${message}\n`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        to: { type: "string" },
        "dry-run": { type: "boolean" },
        concurrency: { type: "string" },
        "force-same-kind": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.to) return fail(`--to <target.env> is required\n${USAGE}`);
  const concurrency = Number(values.concurrency ?? "4");
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    return fail("--concurrency must be a whole number from 1 to 64");
  }
  try {
    const config = loadConfig(mergeEnv(readDotenvFile(baseDir), process.env), baseDir);
    return await run(
      {
        to: values.to,
        dryRun: values["dry-run"] ?? false,
        concurrency,
        forceSameKind: values["force-same-kind"] ?? false,
      },
      config,
      baseDir,
    );
  } catch (err) {
    // Configuration and command errors are one sentence; anything else (a ledger that fails
    // mid-plan) is reported the same way rather than as a stack trace.
    if (err instanceof ConfigError || err instanceof CommandError) return fail(err.message);
    return fail(err instanceof Error ? err.message : String(err));
  }
}
