import { defineProject } from "../../vitest.shared.js";
import { SERIAL_FILES } from "./vitest.serial-files.ts";

// The second phase of `npm test` here: see vitest.serial-files.ts. Its own report, which
// scripts/test-summary.mjs adds to the first.
export default defineProject({
  include: SERIAL_FILES,
  maxWorkers: 1,
  // Each step waits on child processes: generous, so a slower machine is not a failure.
  testTimeout: 120_000,
  reporters: ["default", ["json", { outputFile: "test-results.serial.json" }]],
});
