/**
 * Groups: the unit a run is made of. A group is one comparison (a backend, an operation, a
 * size and a concurrency) whose systems are measured in alternating rounds. Each has a name
 * (`fs/upload/16k/x1`, `s3/mix`, `gcs/range/8m/x16`, `azure/memory`) that `--cells` selects by.
 */
import type { BackendName } from "./backend.ts";
import { parseSize, sizeToken } from "./units.ts";

export type GroupKind = "memory" | "upload" | "mix" | "download" | "range";

export interface GroupSpec {
  backend: BackendName;
  kind: GroupKind;
  /** Upload and download groups only. */
  size?: number;
  concurrency?: number;
}

export function groupName(group: GroupSpec): string {
  const parts: string[] = [group.backend, group.kind];
  if (group.size !== undefined) parts.push(sizeToken(group.size));
  if (group.concurrency !== undefined && group.kind !== "mix") parts.push(`x${group.concurrency}`);
  return parts.join("/");
}

const SIZE_PART = 2;

function partMatches(pattern: string, value: string, index: number): boolean {
  if (pattern === "*" || pattern === "") return true;
  if (index === SIZE_PART && !pattern.includes("*")) {
    try {
      return parseSize(pattern) === parseSize(value);
    } catch {
      return false;
    }
  }
  const regex = new RegExp(
    `^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`,
    "i",
  );
  return regex.test(value);
}

/**
 * A `--cells` filter: comma-separated patterns, each matching a group's name part by part
 * (`*` as a wildcard, sizes compared as sizes: `16k` = `16KiB`); a shorter pattern matches
 * every group under it (`fs/upload/16k` is both concurrencies, `s3` all of s3).
 */
export function cellFilter(text: string | undefined): (group: GroupSpec) => boolean {
  if (!text) return () => true;
  const patterns = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => p.split("/"));
  return (group) => {
    const parts = groupName(group).split("/");
    return patterns.some(
      (pattern) =>
        pattern.length <= parts.length &&
        pattern.every((part, i) => partMatches(part, parts[i] ?? "", i)),
    );
  };
}
