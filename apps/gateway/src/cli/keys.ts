import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { generateMasterKey } from "@mediagate/encryption";
import { openLedger } from "@mediagate/ledger";
import { loadConfig, mergeEnv, readDotenvFile } from "../config/load.ts";
import { UidKeys } from "../encryption/keys.ts";

const USAGE = `Usage: mediagate keys generate
       mediagate keys rotate

generate  prints a new master key (base64, 32 random bytes) and its id. Put it first in
          ENCRYPTION_KEYS; keep the older keys after it until \`keys rotate\` has run.
rotate    re-wraps every uid key with the newest master key in ENCRYPTION_KEYS, without
          re-encrypting any object. Once it reports no key left under an older master key,
          that key can be removed from ENCRYPTION_KEYS.`;

/** `mediagate keys …`; returns the exit status. */
export async function runKeysCommand(args: string[], baseDir: string): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`mediagate keys: ${message}\n`);
    return 2;
  };
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: {} }));
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  const [command] = positionals;
  if (command === "generate" && positionals.length === 1) {
    const key = generateMasterKey();
    process.stdout.write(`${key.base64}\n`);
    process.stderr.write(`master key id ${key.id}: add it first in ENCRYPTION_KEYS\n`);
    return 0;
  }
  if (command !== "rotate" || positionals.length !== 1) return fail(USAGE);
  let config;
  try {
    config = loadConfig(mergeEnv(readDotenvFile(baseDir), process.env), baseDir);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  const encryption = config.privacy.encryption;
  const settings = config.custody.ledger;
  if (!encryption || !settings) return fail("ENCRYPTION=on is needed to rotate keys");
  const ledger = await openLedger(
    settings.kind === "sqlite" ? { kind: "sqlite", path: settings.path, durable: true } : settings,
  ).catch((err: unknown) => err as Error);
  if (ledger instanceof Error) return fail(`the ledger cannot be opened: ${ledger.message}`);
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          format: "rotate [{bar}] {value}/{total} keys | {eta_formatted} left",
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  try {
    let started = false;
    const result = await new UidKeys(encryption.keys, ledger).rotate((done, total) => {
      if (!started) bar?.start(total, 0);
      started = true;
      bar?.update(done);
    });
    bar?.stop();
    process.stdout.write(
      `${result.keys} keys, ${result.rewrapped} re-wrapped with master key ${encryption.keys.primary.id}` +
        (result.unreadable > 0
          ? `; ${result.unreadable} wrapped by a master key no longer in ENCRYPTION_KEYS (put it back to rotate them)\n`
          : "; every key is now under the newest master key\n"),
    );
    return result.unreadable > 0 ? 1 : 0;
  } finally {
    bar?.stop();
    await ledger.close();
  }
}
