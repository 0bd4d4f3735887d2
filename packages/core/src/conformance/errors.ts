import { expect } from "vitest";
import { StorageError, type StorageErrorCode } from "../errors.ts";

function describeError(err: unknown): string {
  if (err instanceof StorageError) return `StorageError(${err.code}): ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Awaits `action` and asserts it rejects (or throws) a StorageError with `code`. */
export async function expectStorageError(
  action: Promise<unknown> | (() => unknown),
  code: StorageErrorCode,
): Promise<StorageError> {
  let caught: unknown;
  let resolved = false;
  try {
    await (typeof action === "function" ? action() : action);
    resolved = true;
  } catch (err) {
    caught = err;
  }
  expect(resolved, `expected a StorageError(${code}), but the call succeeded`).toBe(false);
  expect(
    caught instanceof StorageError,
    `expected a StorageError(${code}), got ${describeError(caught)}`,
  ).toBe(true);
  const error = caught as StorageError;
  expect(error.code, `expected code ${code}, got ${describeError(error)}`).toBe(code);
  return error;
}

/**
 * The first step of a listing, however the adapter fails it: `list()` may throw at once
 * (argument checks) or reject on the first `next()` (backend errors).
 */
export async function firstListStep(make: () => AsyncIterable<unknown>): Promise<unknown> {
  const iterator = make()[Symbol.asyncIterator]();
  try {
    return await iterator.next();
  } finally {
    await iterator.return?.().catch(() => undefined);
  }
}
