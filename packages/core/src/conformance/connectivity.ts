import { describe, expect, it } from "vitest";
import type { StorageAdapter } from "../adapter.ts";
import { streamOf } from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError, firstListStep } from "./errors.ts";

export function connectivityTests(ctx: SuiteContext): void {
  const { unreachable, missingBucket } = ctx.options;

  describe("backend health", () => {
    it("check() resolves against the live backend", async () => {
      await expect(ctx.adapter.check()).resolves.toBeUndefined();
    });

    if (unreachable) {
      it("rejects every call with Unavailable when nothing listens, keeping the cause", async () => {
        const adapter: StorageAdapter = unreachable();
        const key = "conformance/unreachable";
        const calls: [string, () => Promise<unknown>][] = [
          ["check", () => adapter.check()],
          ["write", () => adapter.write(key, streamOf("x"))],
          ["read", () => adapter.read(key)],
          ["stat", () => adapter.stat(key)],
          ["delete", () => adapter.delete(key)],
          ["list", () => firstListStep(() => adapter.list("conformance/"))],
        ];
        // In parallel: client retries and back-off would otherwise add up.
        await Promise.all(
          calls.map(async ([name, call]) => {
            const error = await expectStorageError(call, "Unavailable");
            expect(error.cause, `${name} keeps the original error as cause`).toBeDefined();
          }),
        );
      });

      it("still rejects invalid keys with InvalidKey when unreachable (checked before any I/O)", async () => {
        const adapter = unreachable();
        await expectStorageError(() => adapter.write("../x", streamOf("x")), "InvalidKey");
        await expectStorageError(() => adapter.read("a//b"), "InvalidKey");
        await expectStorageError(() => adapter.stat("/abs"), "InvalidKey");
        await expectStorageError(() => adapter.delete("a/"), "InvalidKey");
        await expectStorageError(() => firstListStep(() => adapter.list("..")), "InvalidKey");
      });
    }

    if (missingBucket) {
      it("check() rejects NotFound when the bucket/container/folder does not exist", async () => {
        await expectStorageError(missingBucket().check(), "NotFound");
      });

      it("delete() rejects NotFound when the bucket is missing: only a missing object is idempotent", async () => {
        // A "successful" delete there would hide a misconfigured bucket name.
        await expectStorageError(missingBucket().delete("conformance/missing-bucket"), "NotFound");
      });
    }
  });
}
