import { configDefaults } from "vitest/config";
import { defineProject } from "../../vitest.shared.js";
import { SERIAL_FILES } from "./vitest.serial-files.ts";

// Most of these tests wait on real servers and gateway processes, not on the CPU: three
// files at a time let those waits overlap.
export default defineProject({
  maxWorkers: 3,
  exclude: [...configDefaults.exclude, ...SERIAL_FILES],
});
