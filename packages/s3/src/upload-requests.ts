import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandOutput,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { isNotImplemented } from "./final-tags.ts";

type Send = S3Client["send"];

/**
 * Bounds the requests a stopping write still waits for (CreateMultipartUpload, and the
 * clean-up), so a store that stopped answering cannot hang it.
 */
export const CLEANUP_TIMEOUT_MS = 30_000;

/**
 * One write's view of the S3 client: every request of the write goes through it. Owning
 * every request lets the write:
 *
 * - stop at once: after `stop()` new requests are refused and those in flight cancelled,
 *   except two kinds. CreateMultipartUpload: cancelling it could leave an upload open whose
 *   id never arrived, so it is left to answer (it carries no body, and is bounded by a
 *   timeout). And the requests that make the object (PutObject, CompleteMultipartUpload,
 *   the CopyObject that re-describes it): once the store has their whole body it carries
 *   them out even if the client hangs up, possibly after a delete sent meanwhile. So they
 *   get `abortGraceMs` to answer, and the clean-up comes after their answer;
 * - stop on the first failed request (the SDK has already retried it), instead of reading
 *   and uploading the rest of a 2 GB body first;
 * - know when nothing is in flight any more, so AbortMultipartUpload is the last word and
 *   no part can land after it;
 * - know the upload id, whether completion was attempted or confirmed, and whether a single
 *   PutObject went out without an answer.
 */
export class UploadRequests {
  readonly client: S3Client;
  /** Set once CreateMultipartUpload has answered. */
  uploadId: string | undefined;
  /** CompleteMultipartUpload was sent (it may have taken effect even if cancelled). */
  completeSent = false;
  /** CompleteMultipartUpload succeeded: the object exists. */
  completed = false;
  /** A single PutObject succeeded: the object exists. */
  put = false;
  /**
   * A single PutObject was sent and never answered (cancelled, or its connection lost): the
   * store may have created the object all the same.
   */
  putUnanswered = false;
  private readonly controller = new AbortController();
  private readonly abortGraceMs: number;
  private readonly running = new Set<Promise<unknown>>();
  private reason: { value: unknown } | undefined;
  /**
   * Called with each command just before it is sent; may complete its input (metadata known
   * only once the body has ended). Throwing refuses the request and stops the write.
   */
  beforeSend: ((command: Parameters<Send>[0]) => void) | undefined;

  constructor(base: S3Client, abortGraceMs: number) {
    this.abortGraceMs = abortGraceMs;
    const send = ((command: Parameters<Send>[0], options?: Parameters<Send>[1]) =>
      this.send(base, command, options)) as Send;
    // Everything else (config, middleware) is the real client's, through the prototype.
    this.client = Object.create(base, { send: { value: send } }) as S3Client;
  }

  /** Fires on `stop()`, with its reason. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Why the write stopped: the first failure, or the caller's abort reason. */
  get stopReason(): unknown {
    return this.reason?.value;
  }

  /** Refuse new requests and cancel bodies in flight. The first reason is kept. */
  stop(reason: unknown): void {
    if (this.reason) return;
    this.reason = { value: reason };
    this.controller.abort(reason);
  }

  onStop(listener: () => void): void {
    this.controller.signal.addEventListener("abort", listener, { once: true });
  }

  /** Resolves once no request is in flight; after `stop()` none can start again. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private send(
    base: S3Client,
    command: Parameters<Send>[0],
    options: Parameters<Send>[1] | undefined,
  ): Promise<unknown> {
    if (this.stopped) {
      return Promise.reject(
        Object.assign(new Error("The upload was stopped."), { name: "AbortError" }),
      );
    }
    try {
      this.beforeSend?.(command);
    } catch (err) {
      this.stop(err);
      return Promise.reject(err);
    }
    if (command instanceof CompleteMultipartUploadCommand) this.completeSent = true;
    const isPut = command instanceof PutObjectCommand;
    if (isPut) this.putUnanswered = true;
    const graced = makesTheObject(command)
      ? afterGrace(this.controller.signal, this.abortGraceMs)
      : undefined;
    const signal =
      command instanceof CreateMultipartUploadCommand
        ? AbortSignal.timeout(CLEANUP_TIMEOUT_MS)
        : (graced?.signal ?? this.controller.signal);
    const request = base.send(command, { ...options, abortSignal: signal }).then(
      (output) => {
        if (isPut) {
          this.putUnanswered = false;
          this.put = true;
        }
        if (command instanceof CreateMultipartUploadCommand) {
          this.uploadId = (output as CreateMultipartUploadCommandOutput).UploadId;
        } else if (command instanceof CompleteMultipartUploadCommand) {
          this.completed = true;
        }
        return output;
      },
      (err: unknown) => {
        // An error answer from the store means it refused the object.
        if (isPut && httpStatus(err) !== undefined) this.putUnanswered = false;
        // A store without tagging does not fail the write: it is copied instead.
        if (!(command instanceof PutObjectTaggingCommand && isNotImplemented(err))) this.stop(err);
        throw err;
      },
    );
    this.running.add(request);
    const forget = () => {
      graced?.dispose();
      this.running.delete(request);
    };
    request.then(forget, forget);
    return request;
  }
}

function makesTheObject(command: Parameters<Send>[0]): boolean {
  return (
    command instanceof PutObjectCommand ||
    command instanceof CompleteMultipartUploadCommand ||
    command instanceof CopyObjectCommand
  );
}

/**
 * A signal that fires `graceMs` after `signal` does (at once for 0): a request on the wire
 * gets that long to answer once the write stops, so what it did is known before clean-up.
 */
function afterGrace(
  signal: AbortSignal,
  graceMs: number,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    timer = setTimeout(() => controller.abort(signal.reason), graceMs);
    timer.unref();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      signal.removeEventListener("abort", onAbort);
      clearTimeout(timer);
    },
  };
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return typeof status === "number" && status > 0 ? status : undefined;
}
