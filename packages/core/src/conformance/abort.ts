import { describe, expect, it } from "vitest";
import {
  failingBody,
  readAll,
  stallingBody,
  untouchableBody,
  type ControlledBody,
} from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError } from "./errors.ts";

export function abortTests(ctx: SuiteContext): void {
  /** Nothing under `key`, nothing in the listing, no backend debris. */
  async function expectNothingLeft(prefix: string, key: string): Promise<void> {
    await expectStorageError(ctx.adapter.stat(key), "NotFound");
    await expectStorageError(ctx.adapter.read(key), "NotFound");
    expect(await ctx.keysUnder(`${prefix}/`)).not.toContain(key);
    expect(await ctx.leftovers()).toEqual([]);
  }

  async function abortMidStream(producedBytes: number): Promise<void> {
    const prefix = ctx.freshPrefix();
    const key = `${prefix}/aborted`;
    const body = stallingBody(producedBytes);
    const controller = new AbortController();
    const writing = ctx.adapter.write(key, body.stream, { signal: controller.signal });
    writing.catch(() => undefined);
    await body.drained;
    controller.abort(new Error("client went away"));
    await expectStorageError(writing, "Aborted");
    expect(body.stream.destroyed, "the adapter stops the body it was given").toBe(true);
    await expectNothingLeft(prefix, key);
  }

  describe("abort and failure", () => {
    it("rejects with Aborted and leaves nothing when aborted after a few bytes", async () => {
      await abortMidStream(64 * 1024);
    });

    it("rejects with Aborted and leaves nothing when aborted after several MiB", async () => {
      // Past a 5 MiB S3 part: a multipart upload is open and a part is on the wire.
      await abortMidStream(Math.ceil(ctx.largeBodyBytes / 2));
    });

    it("rejects with Aborted and leaves nothing when the body stream errors", async () => {
      const prefix = ctx.freshPrefix();
      const key = `${prefix}/failed`;
      const body = failingBody(256 * 1024, new Error("socket hang up"));
      const error = await expectStorageError(ctx.adapter.write(key, body.stream), "Aborted");
      expect((error.cause as Error | undefined)?.message).toBe("socket hang up");
      await expectNothingLeft(prefix, key);
    });

    it("rejects a pre-aborted write with Aborted without reading the body", async () => {
      const prefix = ctx.freshPrefix();
      const key = `${prefix}/never`;
      const body = untouchableBody();
      await expectStorageError(
        ctx.adapter.write(key, body.stream, { signal: AbortSignal.abort() }),
        "Aborted",
      );
      expect(body.touched).toBe(false);
      await expectNothingLeft(prefix, key);
    });

    it("keeps the previous object intact when an overwrite is aborted", async () => {
      const prefix = ctx.freshPrefix();
      const key = `${prefix}/kept`;
      const original = await ctx.put(key, "original bytes", { metadata: { version: "1" } });
      const body: ControlledBody = stallingBody(128 * 1024);
      const controller = new AbortController();
      const writing = ctx.adapter.write(key, body.stream, {
        signal: controller.signal,
        metadata: { version: "2" },
      });
      writing.catch(() => undefined);
      await body.drained;
      controller.abort();
      await expectStorageError(writing, "Aborted");
      const { body: stored, info } = await ctx.adapter.read(key);
      expect((await readAll(stored)).toString()).toBe("original bytes");
      expect(info.etag).toBe(original.etag);
      expect(info.metadata).toEqual({ version: "1" });
      expect(await ctx.leftovers()).toEqual([]);
    });

    it("rejects a read with an already aborted signal with Aborted", async () => {
      const key = `${ctx.freshPrefix()}/present`;
      await ctx.put(key, "x");
      await expectStorageError(ctx.adapter.read(key, { signal: AbortSignal.abort() }), "Aborted");
    });
  });
}
