/**
 * The ledger conformance suite: one set of behaviour tests every Ledger implementation must
 * pass against a real database of its kind. Import it from a vitest test file:
 *
 *   describeLedgerConformance({ name: "sqlite", database: async () => ({ open: () => … }) });
 */
import { afterAll, afterEach, beforeAll, describe } from "vitest";
import { LedgerSuiteContext, type LedgerConformanceOptions } from "./context.ts";
import { erasureTests } from "./erasure.ts";
import { keyTests } from "./keys.ts";
import { lifecycleTests } from "./lifecycle.ts";
import { quotaTests } from "./quotas.ts";
import { recordTests } from "./records.ts";
import { retentionTests } from "./retention.ts";

export type { ConformanceDatabase, LedgerConformanceOptions } from "./context.ts";
export { T0, expectLedgerError, newRecord } from "./context.ts";

/** Registers the whole suite as `describe("<name> ledger conformance")`. */
export function describeLedgerConformance(options: LedgerConformanceOptions): void {
  describe(`${options.name} ledger conformance`, () => {
    const ctx = new LedgerSuiteContext(options);
    beforeAll(() => ctx.start());
    afterEach(() => ctx.afterEach());
    afterAll(() => ctx.finish());

    recordTests(ctx);
    quotaTests(ctx);
    retentionTests(ctx);
    erasureTests(ctx);
    keyTests(ctx);
    lifecycleTests(ctx);
  });
}
