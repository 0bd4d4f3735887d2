import { tmpdir } from "node:os";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { StorageAdapter } from "@mediagate/core";
import { openLedger, type Ledger } from "@mediagate/ledger";
import { adminRouter } from "../admin/route.ts";
import type { CustodyConfig, PrivacyConfig } from "../config/load.ts";
import type { UploadHook } from "../upload/store.ts";
import { Audit } from "./audit.ts";
import { Eraser } from "./eraser.ts";
import { ledgerHook } from "./ledger-hook.ts";
import { RetentionSweeper } from "./retention.ts";
import type { Metrics } from "../observability/metrics.ts";
import { encryptionHook } from "../encryption/hook.ts";
import { UidKeys } from "../encryption/keys.ts";
import { DecryptingStorage } from "../encryption/reader.ts";

/** Everything data custody adds to a gateway, built from CUSTODY settings at start. */
export interface Custody {
  ledger: Ledger | undefined;
  /** The store as owners read it: decrypting when ENCRYPTION=on, else the store itself. */
  reader: StorageAdapter;
  /** ENCRYPTION=on: the per-uid keys. */
  keys: UidKeys | undefined;
  audit: Audit;
  /** Store-step hooks: the ledger's record and quotas, and the upload's audit event. */
  hooks: UploadHook[];
  eraser: Eraser | undefined;
  sweeper: RetentionSweeper | undefined;
  /** The admin API's routes, when ADMIN_TOKENS is set. */
  admin: ReturnType<typeof adminRouter> | undefined;
  /** Readiness: the ledger answers. */
  check(): Promise<void>;
  close(): Promise<void>;
}

export interface CustodyOptions {
  config: CustodyConfig;
  /** ENCRYPTION: the master keys; the per-uid keys live in the ledger. */
  encryption: PrivacyConfig["encryption"];
  storage: StorageAdapter;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
}

export async function startCustody(options: CustodyOptions): Promise<Custody> {
  const { config, storage, logger } = options;
  const now = options.now ?? (() => new Date());
  const audit = new Audit(config.audit, logger);
  const uploadAudit: UploadHook = {
    commit(upload, stored) {
      audit.record({
        event: "upload",
        actor: upload.fields.uid === undefined ? "anonymous" : `uid:${upload.fields.uid}`,
        key: stored.key,
        ...(upload.fields.uid !== undefined && { uid: upload.fields.uid }),
        mid: upload.fields.mid,
        size: stored.size,
        sha256: stored.sha256,
      });
    },
  };
  if (!config.ledger) {
    return {
      ledger: undefined,
      reader: storage,
      keys: undefined,
      audit,
      hooks: [uploadAudit],
      eraser: undefined,
      sweeper: undefined,
      admin: undefined,
      check: () => Promise.resolve(),
      close: () => audit.close(),
    };
  }
  const ledger = await openLedger(
    config.ledger.kind === "sqlite"
      ? { kind: "sqlite", path: config.ledger.path, durable: true }
      : { kind: "postgres", url: config.ledger.url },
  );
  const keys = options.encryption ? new UidKeys(options.encryption.keys, ledger) : undefined;
  const reader = keys ? new DecryptingStorage(storage, keys, logger) : storage;
  // Erasing a uid destroys its key first: its objects are unreadable at once, copies too.
  const shred = keys && ((uid: string) => keys.shred(uid));
  const eraser = new Eraser({
    ledger,
    storage,
    audit,
    logger,
    now,
    shred,
    metrics: options.metrics,
  });
  const sweeper = config.retention?.expires
    ? new RetentionSweeper({
        ledger,
        eraser,
        audit,
        logger,
        now,
        intervalMs: config.sweepIntervalMs,
        ratePerSecond: config.sweepRatePerSecond,
        metrics: options.metrics,
      })
    : undefined;
  const open = async (key: string): Promise<Readable> => (await reader.read(key)).body;
  const admin = config.admin
    ? adminRouter({
        tokens: config.admin.tokens,
        ledger,
        storage,
        eraser,
        audit,
        sweeper,
        open,
        workDir: tmpdir(),
      })
    : undefined;
  const resumed = await eraser.resumeAll().catch((err: unknown) => {
    logger.error({ err }, "could not look for unfinished erasures; it is tried again shortly");
    return 0;
  });
  if (resumed > 0) logger.info({ resumed }, "resuming unfinished erasures");
  eraser.startSweeping();
  sweeper?.start();
  return {
    ledger,
    reader,
    keys,
    audit,
    hooks: [
      ...(keys ? [encryptionHook(keys)] : []),
      ledgerHook({
        ledger,
        backend: storage.name,
        retention: config.retention,
        quotas: config.quotas,
        now,
        metrics: options.metrics,
      }),
      uploadAudit,
    ],
    eraser,
    sweeper,
    admin,
    check: () => ledger.check(),
    async close() {
      await sweeper?.stop();
      await eraser.idle();
      await ledger.close();
      await audit.close();
    },
  };
}
