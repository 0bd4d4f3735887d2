/**
 * Regenerates the configuration tables in README.md and apps/gateway/README.md from the
 * variables' documentation (src/config/schema.ts and each provider):
 *
 *   npm run docs:env            rewrite the tables
 *   npm run docs:env -- --check exit 1 when a README has drifted
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderEnvBlocks } from "../src/config/env-docs.ts";

const READMES = ["../../../README.md", "../README.md"].map((p) =>
  fileURLToPath(new URL(p, import.meta.url)),
);
const check = process.argv.includes("--check");
let drifted = 0;
for (const path of READMES) {
  const text = await readFile(path, "utf8");
  const rendered = renderEnvBlocks(text);
  if (rendered === text) continue;
  drifted++;
  if (check) console.error(`${path}: configuration tables differ from the schema`);
  else await writeFile(path, rendered);
}
if (check && drifted > 0) {
  console.error("Run `npm run docs:env` to regenerate them.");
  process.exit(1);
}
