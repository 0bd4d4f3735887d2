import { pino, type Logger } from "pino";

/**
 * The audit trail: one structured event per upload, erasure, export, retention deletion and
 * admin call (and download, with AUDIT_DOWNLOADS), saying who did what to which object and
 * when. Written to the log (marked `audit: true`) or to its own file (AUDIT_LOG). Never a
 * token: an actor is named by what it is (`uid:42`, `admin:2` for the second admin token,
 * `retention`), never by its secret.
 */
export type AuditEvent =
  | {
      event: "upload";
      actor: string;
      key: string;
      uid?: string;
      mid: string;
      size: number;
      sha256: string;
    }
  | { event: "download"; key: string; range?: string; client?: string; status: number }
  | {
      event: "erase.uid.started" | "erase.uid.finished";
      actor: string;
      uid: string;
      job: string;
      removed?: number;
    }
  | { event: "erase.object"; actor: string; key: string; uid?: string | null; reason: string }
  | { event: "export"; actor: string; uid: string; files: number; bytes: number; complete: boolean }
  | {
      event: "retention.deleted";
      actor: "retention";
      key: string;
      uid: string | null;
      expiredAt: string;
    }
  | { event: "admin"; actor: string; method: string; path: string; status: number };

export interface AuditConfig {
  /** AUDIT_LOG: a file of its own; undefined writes events to the main log. */
  file: string | undefined;
  /** AUDIT_DOWNLOADS: downloads are events too (key, range, client address, status). */
  downloads: boolean;
}

export class Audit {
  readonly downloads: boolean;
  readonly #log: Logger;
  readonly #close: () => Promise<void>;

  constructor(config: AuditConfig, logger: Logger) {
    this.downloads = config.downloads;
    if (config.file) {
      const destination = pino.destination({ dest: config.file, mkdir: true, sync: false });
      this.#log = pino({ base: { service: "mediagate", audit: true } }, destination);
      this.#close = () =>
        new Promise<void>((resolve) => {
          destination.flushSync();
          destination.end();
          destination.once("close", () => resolve());
          destination.once("error", () => resolve());
        });
    } else {
      this.#log = logger.child({ audit: true });
      this.#close = () => Promise.resolve();
    }
  }

  record(event: AuditEvent): void {
    this.#log.info(event, event.event);
  }

  close(): Promise<void> {
    return this.#close();
  }
}
