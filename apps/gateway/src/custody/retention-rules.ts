import { parseDuration } from "../config/units.ts";
import { SOURCE_NAMES, sourceCode } from "./sources.ts";

/**
 * RETENTION: how long objects are kept, per mesibo source, e.g.
 * `message:365d,thumbnail:30d,profile:never,default:90d`. A source without a rule takes
 * `default`; without a default, objects are kept.
 */
export class Retention {
  /** Milliseconds by source code; null keeps forever. */
  readonly #rules: ReadonlyMap<number, number | null>;
  readonly #fallback: number | null;

  constructor(rules: ReadonlyMap<number, number | null>, fallback: number | null) {
    this.#rules = rules;
    this.#fallback = fallback;
  }

  /** When an object of `source` stored at `createdAt` expires; null when kept. */
  expiry(source: string, createdAt: Date): Date | null {
    const code = sourceCode(source);
    const ms = this.#rules.has(code) ? (this.#rules.get(code) ?? null) : this.#fallback;
    return ms === null ? null : new Date(createdAt.getTime() + ms);
  }

  /** Whether anything ever expires (else no sweeper runs). */
  get expires(): boolean {
    return this.#fallback !== null || [...this.#rules.values()].some((ms) => ms !== null);
  }

  /** Parses the variable; throws an Error whose message completes "RETENTION …". */
  static parse(text: string): Retention {
    const rules = new Map<number, number | null>();
    let fallback: number | null = null;
    for (const entry of text
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean)) {
      const match = /^([A-Za-z0-9_-]+)\s*:\s*(\S+)$/.exec(entry);
      if (!match) throw new Error(`entry "${entry}" must be source:duration, like message:365d`);
      const [, name = "", value = ""] = match;
      const ms = parseKeep(value);
      if (ms === undefined) {
        throw new Error(`"${value}" for ${name} must be a duration like 30d or 12h, or never`);
      }
      if (name === "default") fallback = ms;
      else if (/^\d+$/.test(name) || SOURCE_NAMES[name.toLowerCase()] !== undefined) {
        rules.set(sourceCode(name), ms);
      } else {
        throw new Error(
          `"${name}" is not a mesibo source (message, profile, group, thumbnail, unknown, custom, a number, or default)`,
        );
      }
    }
    return new Retention(rules, fallback);
  }
}

/** A duration (`d` for days too), or `never`; undefined when unreadable. */
function parseKeep(value: string): number | null | undefined {
  if (value === "never") return null;
  const days = /^(\d+)d$/.exec(value);
  if (days) return Number(days[1]) * 24 * 60 * 60 * 1000;
  const ms = parseDuration(value);
  return ms !== undefined && ms > 0 ? ms : undefined;
}
