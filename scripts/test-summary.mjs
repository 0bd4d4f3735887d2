// Adds up the vitest JSON reports every workspace writes (test-results.json) into the single
// line CI reads. A workspace whose tests crashed before reporting counts as one failure, so a
// missing report can never look like success.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const workspaceDirs = [];
const { readdirSync, statSync } = await import("node:fs");
for (const pattern of rootPackage.workspaces) {
  // "packages/*" names every folder in packages/; "bench" names one workspace.
  const candidates = pattern.endsWith("/*")
    ? readdirSync(join(root, pattern.slice(0, -2))).map((name) =>
        join(root, pattern.slice(0, -2), name),
      )
    : [join(root, pattern)];
  for (const dir of candidates) {
    if (statSync(dir).isDirectory() && existsSync(join(dir, "package.json")))
      workspaceDirs.push(dir);
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of workspaceDirs) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (!pkg.scripts?.test) continue;
  const report = join(dir, "test-results.json");
  if (!existsSync(report)) {
    console.error(`test-summary: ${pkg.name} has a test script but wrote no report`);
    failed += 1;
    continue;
  }
  // test-results.json, and the report of any later phase (test-results.<phase>.json).
  const reports = readdirSync(dir)
    .filter((name) => /^test-results\.[\w-]+\.json$/.test(name))
    .map((name) => join(dir, name));
  // A package with a serial phase must have reported it too.
  if (
    existsSync(join(dir, "vitest.serial.config.ts")) &&
    !existsSync(join(dir, "test-results.serial.json"))
  ) {
    console.error(`test-summary: ${pkg.name}'s serial phase wrote no report`);
    failed += 1;
  }
  for (const file of [report, ...reports]) count(JSON.parse(readFileSync(file, "utf8")));
}

function count(r) {
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  // A file that failed to load has no tests in it but is a failure all the same.
  failed += (r.testResults ?? []).filter(
    (f) => f.status === "failed" && (f.assertionResults ?? []).length === 0,
  ).length;
}
// Skipped tests (suites that need a server CI does not run) are reported on a line of their
// own: the last line keeps exactly the form CI reads.
if (skipped) console.log(`skipped: ${skipped} (each suite says why in its own output)`);
console.log(`tests: ${passed} passed, ${failed} failed`);
