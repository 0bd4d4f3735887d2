import { defineProject } from "../../vitest.shared.js";

// Most of these tests wait on real servers and gateway processes, not on the CPU: three
// files at a time let those waits overlap.
export default defineProject({ maxWorkers: 3 });
