import type { Readable } from "node:stream";
import { SpanStatusCode, type Tracer } from "@opentelemetry/api";
import {
  isStorageError,
  supportsAbandonedUploadRemoval,
  supportsSignedUrls,
  type ListEntry,
  type ListOptions,
  type ObjectInfo,
  type OperationOptions,
  type ReadOptions,
  type ReadResult,
  type RemoveAbandonedUploadsOptions,
  type SignedUrlOptions,
  type StorageAdapter,
  type WriteOptions,
} from "@mediagate/core";
import type { Metrics } from "./metrics.ts";

/**
 * A storage adapter seen through the gateway's instruments: each operation's duration and
 * outcome as a metric, and, when tracing is on, as a child span of the request it serves.
 * Optional capabilities (signed URLs, abandoned-upload removal) pass through as they are.
 */
export function instrumentStorage(
  inner: StorageAdapter,
  metrics: Metrics,
  tracer: Tracer | undefined,
): StorageAdapter {
  const measure = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    const span = tracer?.startSpan(`storage.${operation}`, {
      attributes: { "mediagate.backend": inner.name },
    });
    let outcome = "error";
    try {
      const result = await run();
      outcome = "ok";
      span?.end();
      return result;
    } catch (err) {
      const code = isStorageError(err) ? err.code : "Internal";
      metrics.storageErrors.inc({ backend: inner.name, operation, code });
      span?.setStatus({ code: SpanStatusCode.ERROR, message: code });
      span?.end();
      throw err;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.storageDuration.observe({ backend: inner.name, operation, outcome }, seconds);
    }
  };
  const wrapped: StorageAdapter & Record<string, unknown> = {
    name: inner.name,
    write: (key: string, body: Readable, options?: WriteOptions): Promise<ObjectInfo> =>
      measure("write", () => inner.write(key, body, options)),
    read: (key: string, options?: ReadOptions): Promise<ReadResult> =>
      measure("read", () => inner.read(key, options)),
    stat: (key: string, options?: OperationOptions) =>
      measure("stat", () => inner.stat(key, options)),
    delete: (key: string, options?: OperationOptions) =>
      measure("delete", () => inner.delete(key, options)),
    list: (prefix?: string, options?: ListOptions): AsyncIterable<ListEntry> =>
      inner.list(prefix, options),
    check: (options?: OperationOptions) => measure("check", () => inner.check(options)),
  };
  if (supportsSignedUrls(inner)) {
    wrapped.signedUrl = (key: string, options: SignedUrlOptions) =>
      measure("signedUrl", () => inner.signedUrl(key, options));
  }
  if (supportsAbandonedUploadRemoval(inner)) {
    wrapped.removeAbandonedUploads = (options: RemoveAbandonedUploadsOptions) =>
      measure("removeAbandonedUploads", () => inner.removeAbandonedUploads(options));
  }
  return wrapped;
}
