import { z } from "zod";

/**
 * Every variable the gateway reads, with the words the README's tables are generated from
 * (scripts/env-tables.ts). A variable is documented where it is declared, so the tables
 * cannot drift from what is parsed; a test fails when a README does.
 */
export interface VarDoc {
  /** The README table this variable is listed in. */
  section: string;
  /** The default as people read it (the parser applies the real one). */
  default: string;
  description: string;
}

export function documented<T extends z.ZodType>(field: T, doc: VarDoc): T {
  return field.meta({ ...doc }) as T;
}

/**
 * Documents variables declared elsewhere (a provider's schema, whose fields are chained
 * expressions): every one of `shape`'s keys must be given, or this does not compile.
 */
export function describeVars<Shape extends Record<string, z.ZodType>>(
  shape: Shape,
  section: string,
  docs: { [K in keyof Shape]: [defaultText: string, description: string] },
): void {
  for (const [name, [defaultText, description]] of Object.entries(docs) as [
    keyof Shape,
    [string, string],
  ][]) {
    z.globalRegistry.add(shape[name] as z.ZodType, { section, default: defaultText, description });
  }
}

/** The documentation of one variable, or undefined for an undocumented one. */
export function docOf(field: z.ZodType): VarDoc | undefined {
  const meta = z.globalRegistry.get(field) as Partial<VarDoc> | undefined;
  if (!meta?.section || meta.default === undefined || !meta.description) return undefined;
  return { section: meta.section, default: meta.default, description: meta.description };
}
