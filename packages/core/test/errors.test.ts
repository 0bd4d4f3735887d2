import { describe, expect, it } from "vitest";
import {
  classifyCommonError,
  codeForHttpStatus,
  StorageError,
  toStorageError,
} from "../src/index.ts";

describe("error translation", () => {
  it("maps HTTP statuses, never reporting 403 as not found", () => {
    expect(codeForHttpStatus(403)).toBe("Unauthorized");
    expect(codeForHttpStatus(401)).toBe("Unauthorized");
    expect(codeForHttpStatus(404)).toBe("NotFound");
    expect(codeForHttpStatus(416)).toBe("InvalidRange");
    expect(codeForHttpStatus(503)).toBe("Unavailable");
    expect(codeForHttpStatus(429)).toBe("Unavailable");
    expect(codeForHttpStatus(400)).toBeUndefined();
  });

  it("recognises network failures, aborts and statuses in the usual places", () => {
    expect(classifyCommonError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(
      "Unavailable",
    );
    expect(classifyCommonError(new Error("x", { cause: { code: "ECONNRESET" } }))).toBe(
      "Unavailable",
    );
    expect(classifyCommonError(new DOMException("stop", "AbortError"))).toBe("Aborted");
    expect(classifyCommonError({ $metadata: { httpStatusCode: 403 } })).toBe("Unauthorized");
    expect(classifyCommonError({ response: { status: 404 } })).toBe("NotFound");
    expect(classifyCommonError(new Error("plain"))).toBeUndefined();
  });

  it("wraps with context, keeps the cause, and lets adapter rules win", () => {
    const original = Object.assign(new Error("nope"), { statusCode: 404 });
    const wrapped = toStorageError(original, { operation: "read", key: "a/b" });
    expect(wrapped).toBeInstanceOf(StorageError);
    expect(wrapped.code).toBe("NotFound");
    expect(wrapped.cause).toBe(original);
    expect(wrapped.message).toBe('read "a/b": nope');
    const overridden = toStorageError(original, {
      operation: "read",
      classify: () => "Unauthorized",
    });
    expect(overridden.code).toBe("Unauthorized");
    expect(toStorageError("weird", { operation: "check" }).code).toBe("Internal");
  });

  it("passes StorageErrors through untouched", () => {
    const err = new StorageError("InvalidRange", "x");
    expect(toStorageError(err, { operation: "read" })).toBe(err);
  });
});
