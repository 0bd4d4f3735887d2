import type { z } from "zod";
import { providers } from "../storage/providers/index.ts";
import { docOf, gatewayEnvSchema, type VarDoc } from "./schema.ts";

/**
 * The README's configuration tables, rendered from the variables' own documentation
 * (schema.ts and each provider). `scripts/env-tables.ts` writes them between
 * `<!-- env:<section> -->` and `<!-- /env:<section> -->` markers; a test fails when a README
 * holds anything else there.
 */

export interface DocumentedVar extends VarDoc {
  name: string;
}

/** Every variable the gateway and its providers read, with its documentation. */
export function documentedVars(): DocumentedVar[] {
  const names = Object.keys(providers) as [string, ...string[]];
  const shapes: Record<string, z.ZodType>[] = [
    gatewayEnvSchema(names).shape,
    ...Object.values(providers).map((p) => (p.env as unknown as z.ZodObject).shape),
  ];
  return shapes.flatMap((shape) =>
    Object.entries(shape).map(([name, field]) => {
      const doc = docOf(field);
      if (!doc) throw new Error(`${name} has no documentation (see config/schema.ts)`);
      return { name, ...doc };
    }),
  );
}

/** One section's table, its columns padded as prettier pads Markdown tables. */
export function renderEnvTable(section: string, vars = documentedVars()): string {
  const rows = vars
    .filter((v) => v.section === section)
    .map((v) => [`\`${v.name}\``, v.default, v.description]);
  if (rows.length === 0) throw new Error(`no variables in section ${section}`);
  const header = ["variable", "default", "meaning"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + " ".repeat((widths[i] ?? 0) - width(c))).join(" | ")} |`;
  return [
    line(header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

/** Display width: prettier counts wide (CJK, emoji) characters as two columns; we have none. */
function width(text: string): number {
  return [...text].length;
}

const BLOCK = /<!-- env:([a-z0-9-]+) -->([\s\S]*?)<!-- \/env:\1 -->/g;

/** `markdown` with every env block re-rendered; sections named in it but unknown throw. */
export function renderEnvBlocks(markdown: string, vars = documentedVars()): string {
  return markdown.replace(
    BLOCK,
    (_all, section: string) =>
      `<!-- env:${section} -->\n\n${renderEnvTable(section, vars)}\n\n<!-- /env:${section} -->`,
  );
}

/** The sections a document has blocks for. */
export function envSections(markdown: string): string[] {
  return [...markdown.matchAll(BLOCK)].map((m) => m[1] as string);
}
