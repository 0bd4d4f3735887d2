/**
 * The README tables are generated from the variables' documentation; these fail when a
 * README drifts from the schema, or a variable is declared without its documentation.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { documentedVars, envSections, renderEnvBlocks } from "../src/config/env-docs.ts";

const readme = (path: string) => readFile(new URL(path, import.meta.url), "utf8");

describe("configuration tables", () => {
  it("documents every variable the gateway and its providers read", () => {
    const vars = documentedVars();
    expect(vars.length).toBeGreaterThan(40);
    for (const v of vars) expect(v.description, v.name).not.toBe("");
    expect(new Set(vars.map((v) => v.name)).size).toBe(vars.length);
  });

  it.each(["../../../README.md", "../README.md"])("%s matches the schema", async (path) => {
    const text = await readme(path);
    expect(renderEnvBlocks(text)).toBe(text);
  });

  it("the root README lists every section", async () => {
    const sections = envSections(await readme("../../../README.md"));
    const documented = new Set(documentedVars().map((v) => v.section));
    expect(new Set(sections)).toEqual(documented);
  });
});
