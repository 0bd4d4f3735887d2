/**
 * The adapter conformance suite: one set of behaviour tests every StorageAdapter must pass
 * against a real backend of its kind. Import it from a vitest test file:
 *
 *   describeConformance({ name: "fs", setup: async () => ({ adapter: new FsAdapter(...) }) });
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abandonedUploadTests } from "./abandoned-uploads.ts";
import { abortTests } from "./abort.ts";
import { connectivityTests } from "./connectivity.ts";
import { finalMetadataTests } from "./final-metadata.ts";
import { ConformanceContext, type ConformanceOptions } from "./context.ts";
import { listTests } from "./list.ts";
import { prefixTests } from "./prefix.ts";
import { rangeTests } from "./ranges.ts";
import { roundTripTests } from "./round-trip.ts";
import { signedUrlTests } from "./signed-urls.ts";
import { validationTests } from "./validation.ts";

export type {
  AbandonedUploadHooks,
  ConformanceOptions,
  ConformanceTarget,
  RawObjects,
  SuiteContext,
} from "./context.ts";
export { DEFAULT_LARGE_BODY_BYTES } from "./context.ts";
export { INVALID_KEYS, INVALID_PREFIXES } from "./validation.ts";
export {
  digestStream,
  failingBody,
  patternBody,
  patternSlice,
  readAll,
  stallingBody,
  streamOf,
  type ControlledBody,
  type PatternBody,
} from "./bodies.ts";
export { expectStorageError, firstListStep } from "./errors.ts";

/** Registers the whole suite as `describe(options.name)`; setup runs once, cleanup after. */
export function describeConformance(options: ConformanceOptions): void {
  describe(`${options.name} conformance`, () => {
    const ctx = new ConformanceContext(options);
    beforeAll(() => ctx.start());
    afterAll(() => ctx.finish());

    connectivityTests(ctx);
    roundTripTests(ctx);
    rangeTests(ctx);
    listTests(ctx);
    abortTests(ctx);
    finalMetadataTests(ctx);
    validationTests(ctx);
    prefixTests(ctx);
    signedUrlTests(ctx);
    abandonedUploadTests(ctx);

    // Last, so it also proves list and delete agree on everything the tests above wrote.
    describe("cleanup", () => {
      it("deletes everything the run wrote, leaving no keys and no leftovers", async () => {
        await ctx.removeEverything();
        expect(await ctx.keysUnder(`${ctx.root}/`)).toEqual([]);
        expect(await ctx.leftovers()).toEqual([]);
      });
    });
  });
}
