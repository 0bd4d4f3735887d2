import type { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream";
import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import { StorageError, type Metadata, type StorageAdapter } from "@mediagate/core";
import { ByteMeter } from "@mediagate/core/multer";
import type { Authenticator } from "../auth/authenticator.ts";
import type { UploadConfig } from "../config/load.ts";
import { HttpError } from "../http/errors.ts";
import type { Lifecycle } from "../server/lifecycle.ts";
import { storedDisposition } from "./disposition.ts";
import type { UploadFields } from "./fields.ts";
import { keyExtension, newObjectKey } from "./keys.ts";
import { contentMetadata, objectMetadata } from "./metadata.ts";
import { decideContentType, peekStream } from "./sniff.ts";
import { readableProbe, watchForStall } from "./stall-watch.ts";

/** One upload on its way into storage, as every step and hook sees it. */
export interface PendingUpload {
  readonly key: string;
  readonly fields: UploadFields;
  /** The stored content type, decided from the file's first bytes. */
  readonly contentType: string;
  /** The client's file name (unclean; metadata keeps a cleaned copy). */
  readonly originalName: string | undefined;
  /** The body's length when known before it streams (a spooled file). */
  readonly size: number | undefined;
  /** An upper bound of the file's length (the request's), when the exact one is unknown. */
  readonly sizeHint: number | undefined;
  readonly startedAt: Date;
  readonly log: Logger;
  /** Metadata hooks add before the first byte (an encryption envelope), stored with the object. */
  readonly metadata: Metadata;
  /** Metadata the hooks' stages learn while the bytes stream, stored with the object. */
  readonly finalMetadata: Metadata;
}

/** An upload the backend holds: what the bytes turned out to be. */
export interface StoredUpload {
  readonly upload: PendingUpload;
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * What a feature that acts on uploads plugs into the store step with (rate limits, quotas,
 * the ledger, metadata stripping, encryption). Each member is optional; hooks run in order.
 */
export interface UploadHook {
  /** Before any byte reaches storage; refuses by throwing (an HttpError). */
  admit?(upload: PendingUpload): Promise<void> | void;
  /** A stage over the file's bytes before they are counted and hashed (stripping). */
  transform?(upload: PendingUpload): Stage;
  /** A stage after the hash, shaping only how the bytes are stored (encryption). */
  encode?(upload: PendingUpload): Stage;
  /** The object is stored; throwing removes it and refuses the upload. */
  commit?(upload: PendingUpload, stored: StoredUpload): Promise<void> | void;
  /** The upload failed, or was discarded after commit: undo what admit and commit took. */
  abandon?(upload: PendingUpload, stored: StoredUpload | undefined): Promise<void> | void;
}

/** A hook's stream stage, made when the upload starts (possibly after asking a service). */
type Stage = Transform | undefined | Promise<Transform | undefined>;

/** One upload handed to the store step, by either path. */
export interface StoreInput {
  auth: string;
  fields: UploadFields;
  originalName: string | undefined;
  declaredType: string | undefined;
  body: Readable;
  /** Known for a spooled file; undefined while a part streams from the client. */
  size: number | undefined;
  /** An upper bound of the file's length when `size` is unknown (the request's length). */
  sizeHint?: number | undefined;
  /** Fires when the write must stop: client gone, size limit, shutdown. */
  signal: AbortSignal;
  /** Bytes the source has delivered so far: the stall watch's sign of progress. */
  progress: () => number;
  log: Logger;
}

export interface StoreStepOptions {
  storage: StorageAdapter;
  authenticator: Authenticator;
  config: UploadConfig;
  lifecycle: Pick<Lifecycle, "signal" | "beginWork">;
  hooks: readonly UploadHook[];
  /** With tracing on: authentication gets a span of its own. */
  tracer?: Tracer | undefined;
}

/**
 * The one path every upload takes into storage, whichever order its parts came in:
 * authenticate → decide the type from the bytes → admit (hooks) → stream through the hooks'
 * stages and the hash into the adapter → commit (hooks). It resolves once storage (and every
 * hook) has the upload; on any failure nothing is left behind and it rejects with the reason.
 */
export class StoreStep {
  readonly #options: StoreStepOptions;

  constructor(options: StoreStepOptions) {
    this.#options = options;
  }

  async store(input: StoreInput): Promise<StoredUpload> {
    const { authenticator, config, hooks } = this.#options;
    const request = { auth: input.auth, ...input.fields };
    const span = this.#options.tracer?.startSpan("authenticate");
    const decision = await authenticator.authenticate(request).finally(() => span?.end());
    if (!decision.ok) throw decision.error;
    // A signed token names the uploader when the form did not.
    const fields = { ...input.fields, uid: decision.uid };
    const peeked = await peekStream(input.body, input.signal);
    const type = await decideContentType(peeked.head, input.declaredType, config.allowedTypes);
    if (type instanceof HttpError) throw type;
    const upload: PendingUpload = {
      key: newObjectKey(keyExtension(input.originalName, type.detected?.ext)),
      fields,
      contentType: type.contentType,
      originalName: input.originalName,
      size: input.size,
      sizeHint: input.sizeHint,
      startedAt: new Date(),
      log: input.log,
      metadata: {},
      finalMetadata: {},
    };
    const admitted: UploadHook[] = [];
    let stored: StoredUpload | undefined;
    try {
      for (const hook of hooks) {
        admitted.push(hook);
        await hook.admit?.(upload);
      }
      stored = await this.#write(upload, { ...input, body: peeked.stream });
      for (const hook of hooks) await hook.commit?.(upload, stored);
      return stored;
    } catch (err) {
      await this.#undo(upload, stored, admitted);
      throw err;
    }
  }

  /** Removes an upload already stored and committed (its answer never reached the client). */
  async discard(stored: StoredUpload): Promise<void> {
    await this.#undo(stored.upload, stored, this.#options.hooks);
  }

  async #undo(
    upload: PendingUpload,
    stored: StoredUpload | undefined,
    hooks: readonly UploadHook[],
  ): Promise<void> {
    if (stored) {
      await this.#options.storage
        .delete(stored.key)
        .catch((err: unknown) =>
          upload.log.warn({ err, key: stored.key }, "could not remove an object"),
        );
    }
    for (const hook of [...hooks].reverse()) {
      try {
        await hook.abandon?.(upload, stored);
      } catch (err) {
        upload.log.warn({ err, key: upload.key }, "an upload hook could not undo its work");
      }
    }
  }

  async #write(upload: PendingUpload, input: StoreInput): Promise<StoredUpload> {
    const { storage, config, lifecycle, hooks } = this.#options;
    const { body } = input;
    const meter = new ByteMeter();
    const made = async (stages: Stage[]) =>
      (await Promise.all(stages)).filter((s): s is Transform => s !== undefined);
    const before = await made(hooks.map((hook) => hook.transform?.(upload)));
    const after = await made(hooks.map((hook) => hook.encode?.(upload)));
    const stages = [...before, meter, ...after];
    const head = stages[0] as Transform;
    const tail = stages[stages.length - 1] as Transform;
    if (stages.length > 1) pipeline(stages, () => {});
    // pipe, not pipeline: when storage fails we stop reading the part and let multer drain
    // the request, instead of destroying its stream under it.
    const onBodyError = (err: Error) => head.destroy(err);
    body.once("error", onBodyError);
    body.pipe(head);

    const watch = watchForStall(readableProbe(body, input.progress), config.storageTimeoutMs);
    const endWork = lifecycle.beginWork();
    const described = objectMetadata(upload.fields, upload.originalName);
    try {
      await storage.write(upload.key, tail, {
        contentType: upload.contentType,
        contentDisposition: storedDisposition(upload.contentType, described),
        // A stage may change the length; only an untouched known length is worth passing.
        contentLength: stages.length === 1 ? input.size : undefined,
        metadata: { ...described, ...upload.metadata },
        finalMetadata: () => ({
          ...upload.finalMetadata,
          ...contentMetadata({ size: meter.bytes, sha256: meter.digest() }),
        }),
        signal: AbortSignal.any([input.signal, lifecycle.signal, watch.signal]),
      });
    } catch (err) {
      body.unpipe(head);
      for (const stage of stages) stage.destroy();
      throw writeFailure(err, input.signal, watch);
    } finally {
      watch.stop();
      endWork();
      body.off("error", onBodyError);
    }
    const stored: StoredUpload = {
      upload,
      key: upload.key,
      size: meter.bytes,
      sha256: meter.digest(),
    };
    if ((body as Readable & { truncated?: boolean }).truncated) {
      // The size limit fired after the backend had already taken every byte.
      await storage.delete(upload.key).catch(() => undefined);
      throw new HttpError("FILE_TOO_LARGE", "The file is larger than this server accepts.");
    }
    return stored;
  }
}

/** Why a write failed, in the words the client should get. */
function writeFailure(
  err: unknown,
  signal: AbortSignal,
  watch: { stalled: boolean; signal: AbortSignal },
): unknown {
  if (watch.stalled) {
    const reason: unknown = watch.signal.reason;
    const message = reason instanceof Error ? reason.message : "The storage backend timed out.";
    return new HttpError("STORAGE_TIMEOUT", `${message} Try again later.`, { cause: err });
  }
  // Keep the reason the write was cancelled rather than the adapter's generic wrapper.
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  if (reason instanceof StorageError && err instanceof StorageError && err.code === "Aborted") {
    return new StorageError("Aborted", reason.message, {
      operation: "write",
      key: err.key,
      cause: err,
    });
  }
  return err;
}
